//! The fused weighted W_p^p kernel on Flex (`kernel::weighted_wpp`) against its reference twin,
//! the composition of Burn ops in `one_d::wpp_quantile`: values and the gradients with respect
//! to both value rows and both weight rows (f64, 1e-10 relative), for unequal sizes, p = 1, 2, 3;
//! and against central finite differences of the kernel itself.

mod common;

use burn::tensor::{DType, Device, Tensor, TensorData};
use common::HostRng;
use sw_loss::kernel::weighted_wpp;
use sw_loss::one_d::wpp_quantile;

type Inputs = [(Vec<f64>, [usize; 2]); 4];

fn inputs(r: usize, n: usize, m: usize, seed: u64) -> Inputs {
    let mut rng = HostRng::new(seed);
    let mut weights = |len: usize| -> Vec<f64> {
        let w: Vec<f64> = (0..r * len).map(|_| rng.uniform() + 0.05).collect();
        w.chunks(len)
            .flat_map(|row| {
                let s: f64 = row.iter().sum();
                row.iter().map(move |v| v / s).collect::<Vec<_>>()
            })
            .collect()
    };
    let (a, b) = (weights(n), weights(m));
    let mut rng = HostRng::new(seed + 1);
    let x = rng.normals(r * n);
    let y: Vec<f64> = rng.normals(r * m).iter().map(|v| 0.7 * v + 0.4).collect();
    [(x, [r, n]), (y, [r, m]), (a, [r, n]), (b, [r, m])]
}

/// Value and the four input gradients of `sum(f(x, y, a, b))`.
fn eval(
    inp: &Inputs,
    f: impl Fn(Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>) -> Tensor<1>,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let d = Device::flex().autodiff();
    let t: Vec<Tensor<2>> = inp
        .iter()
        .map(|(v, s)| {
            Tensor::<2>::from_data(TensorData::new(v.clone(), *s), (&d, DType::F64)).require_grad()
        })
        .collect();
    let out = f(t[0].clone(), t[1].clone(), t[2].clone(), t[3].clone());
    let value = out.clone().into_data().try_to_vec::<f64>().unwrap();
    let grads = out.sum().backward();
    let g = t
        .iter()
        .map(|x| {
            x.grad(&grads)
                .unwrap()
                .into_data()
                .try_to_vec::<f64>()
                .unwrap()
        })
        .collect();
    (value, g)
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    let scale = a.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn fused_kernel_equals_the_quantile_composition_with_all_gradients() {
    for (r, n, m, seed) in [(3, 40, 57, 1), (2, 300, 170, 2), (4, 5, 5, 3), (1, 1, 9, 4)] {
        let inp = inputs(r, n, m, seed);
        for p in [1.0, 2.0, 3.0] {
            let (v0, g0) = eval(&inp, |x, y, a, b| wpp_quantile(x, y, a, b, p));
            let (v1, g1) = eval(&inp, |x, y, a, b| weighted_wpp(x, y, a, b, p));
            let what = format!("r={r} n={n} m={m} p={p}");
            close(&v0, &v1, 1e-10, &format!("{what} value"));
            for (k, name) in ["∂x", "∂y", "∂a", "∂b"].iter().enumerate() {
                close(&g0[k], &g1[k], 1e-9, &format!("{what} {name}"));
            }
        }
    }
}

/// The kernel with the weights normalised first, as `sliced` calls it: perturbing raw
/// weights then keeps both last cumulative levels at 1 (else they would swap order at h = 0).
fn normalised(x: Tensor<2>, y: Tensor<2>, a: Tensor<2>, b: Tensor<2>, p: f64) -> Tensor<1> {
    let (sa, sb) = (a.clone().sum_dim(1), b.clone().sum_dim(1));
    weighted_wpp(x, y, a / sa, b / sb, p)
}

#[test]
fn fused_kernel_gradients_match_finite_differences() {
    let inp = inputs(2, 7, 11, 9);
    let p = 2.0;
    let (_, g) = eval(&inp, |x, y, a, b| normalised(x, y, a, b, p));
    let h = 1e-6;
    for k in 0..4 {
        for e in 0..inp[k].0.len() {
            let at = |delta: f64| {
                let mut moved = inp.clone();
                moved[k].0[e] += delta;
                eval(&moved, |x, y, a, b| normalised(x, y, a, b, p))
                    .0
                    .iter()
                    .sum::<f64>()
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (fd - g[k][e]).abs() <= 1e-6 * (1.0 + fd.abs()),
                "input {k} entry {e}: finite difference {fd} vs {}",
                g[k][e]
            );
        }
    }
}

/// Value, ∂x and ∂a of `sum(f)` on f32 copies of the inputs.
fn eval_f32(
    inp: &Inputs,
    f: &dyn Fn(Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>) -> Tensor<1>,
) -> [Vec<f64>; 3] {
    let d = Device::flex().autodiff();
    let t: Vec<Tensor<2>> = inp
        .iter()
        .map(|(v, s)| {
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            Tensor::<2>::from_data(TensorData::new(v32, *s), &d).require_grad()
        })
        .collect();
    let out = f(t[0].clone(), t[1].clone(), t[2].clone(), t[3].clone());
    let host = |t: Tensor<2>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let value = out
        .clone()
        .into_data()
        .convert::<f64>()
        .try_to_vec()
        .unwrap();
    let grads = out.sum().backward();
    [
        value,
        host(t[0].grad(&grads).unwrap()),
        host(t[2].grad(&grads).unwrap()),
    ]
}

#[test]
fn f32_rows_take_the_radix_path_and_agree_with_the_composition() {
    // Rows long enough (≥ 192) for the radix argsort. Weights normalised inside, as `sliced`
    // does: the raw ∂a of the two may differ by a constant per row (which of the two last
    // cumulative levels, both 1 up to f32 rounding, merges last), which normalising removes.
    let mut inp = inputs(2, 400, 333, 5);
    let reference = |x, y, a: Tensor<2>, b: Tensor<2>| {
        let (sa, sb) = (a.clone().sum_dim(1), b.clone().sum_dim(1));
        wpp_quantile(x, y, a / sa, b / sb, 2.0)
    };
    let fused = |x, y, a, b| normalised(x, y, a, b, 2.0);
    let (r, k) = (eval_f32(&inp, &reference), eval_f32(&inp, &fused));
    close(&r[0], &k[0], 1e-4, "f32 value");
    close(&r[1], &k[1], 1e-3, "f32 ∂x");
    close(&r[2], &k[2], 1e-3, "f32 ∂a");
    // With tied values only the value is unique (tied entries may split their gradient
    // differently between the two sorts).
    for v in inp[0].0.iter_mut().step_by(3) {
        *v = (*v * 4.0).round() / 4.0;
    }
    let (r, k) = (eval_f32(&inp, &reference), eval_f32(&inp, &fused));
    close(&r[0], &k[0], 1e-4, "f32 value with ties");
}

#[test]
fn weight_rows_shared_by_groups_of_rows_equal_expanded_weights() {
    // 6 rows in 2 groups of 3 (a pair's directions) share one weight row per group.
    let (groups, per, n, m) = (2, 3, 30, 41);
    let values = inputs(groups * per, n, m, 11);
    let weights = inputs(groups, n, m, 12);
    let inp: Inputs = [
        values[0].clone(),
        values[1].clone(),
        weights[2].clone(),
        weights[3].clone(),
    ];
    let expand = |w: Tensor<2>| {
        let len = w.dims()[1];
        w.unsqueeze_dim::<3>(1)
            .expand([groups, per, len])
            .reshape([groups * per, len])
    };
    for p in [1.0, 2.0] {
        let (v0, g0) = eval(&inp, |x, y, a, b| {
            wpp_quantile(x, y, expand(a), expand(b), p)
        });
        let (v1, g1) = eval(&inp, |x, y, a, b| weighted_wpp(x, y, a, b, p));
        close(&v0, &v1, 1e-10, &format!("p={p} value"));
        for (k, name) in ["∂x", "∂y", "∂a", "∂b"].iter().enumerate() {
            close(&g0[k], &g1[k], 1e-9, &format!("p={p} {name}"));
        }
    }
}
