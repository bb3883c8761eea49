//! The fused control-variate ops of `kernel::cv_combine` against their reference twins beside
//! them (values and gradients, f32 and f64, detached γ̂ on and off, a row whose
//! estimate clamps to 0), and against central finite differences in f64 (each op alone and the
//! whole LCV/UCV estimator in d > 16, where all three fused ops run).

mod common;

use burn::tensor::{DType, Device, Tensor, TensorData};
use common::*;
use sw_loss::kernel::{
    cv_combine, cv_combine_reference, cv_expectation, cv_expectation_reference, projected_cv,
    projected_cv_reference,
};
use sw_loss::{
    BatchReduction, ControlVariate, Directions, Gamma, Measure, cv_sw_pp_with_directions,
};

fn t3(data: Vec<f64>, dims: [usize; 3], device: &Device, dtype: DType) -> Tensor<3> {
    Tensor::from_data(TensorData::new(data, dims), (device, dtype))
}

/// The value of `op(x, y)` and the gradients of `loss(op(x, y), x)` with respect to x and y
/// (the inputs made to require gradients here).
fn value_and_input_grads(
    (x, y): (Tensor<3>, Tensor<3>),
    op: impl Fn(Tensor<3>, Tensor<3>) -> Tensor<2>,
    loss: impl FnOnce(Tensor<2>, &Tensor<3>) -> Tensor<1>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (x, y) = (x.require_grad(), y.require_grad());
    let out = op(x.clone(), y.clone());
    let value = to_vec(out.clone());
    let grads = loss(out, &x).backward();
    (
        value,
        to_vec(x.grad(&grads).unwrap()),
        to_vec(y.grad(&grads).unwrap()),
    )
}

/// Relative tolerance of a fused-vs-reference comparison in `dtype`.
fn tol(dtype: DType) -> f64 {
    if dtype == DType::F32 { 2e-5 } else { 1e-11 }
}

/// Largest |a − b| / max(|a|, |b|, floor) over two vectors of equal length.
fn worst(a: &[f64], b: &[f64], floor: f64) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(u, v)| (u - v).abs() / u.abs().max(v.abs()).max(floor))
        .fold(0.0, f64::max)
}

/// W, C, E for B = 4 rows of L = 9: rows 0–2 generic (est > 0), row 3 built so that
/// w̄ − γ̂ (C̄ − E) < 0 (W = −1 + 0.1 (C − E) + noise, C − E with mean ≈ 1 and variance ≈ 10).
fn combine_inputs() -> (Vec<f64>, Vec<f64>, Vec<f64>, usize, usize) {
    let (b, l) = (4, 9);
    let mut rng = HostRng::new(5);
    let mut w = Vec::new();
    let mut c = Vec::new();
    let e = vec![0.7, 1.3, 0.2, 0.5];
    for r in 0..b {
        for _ in 0..l {
            if r < 3 {
                let cc = rng.normal() * 0.8 + 0.3 * r as f64;
                w.push(1.0 + 0.6 * cc + 0.2 * rng.normal());
                c.push(e[r] + cc);
            } else {
                let cc = 1.0 + 3.2 * rng.normal();
                w.push(-1.0 + 0.1 * cc + 0.01 * rng.normal());
                c.push(e[r] + cc);
            }
        }
    }
    (w, c, e, b, l)
}

/// The raw estimate w̄ − γ̂ m of one row, on the host.
fn raw_estimate(w: &[f64], c: &[f64], e: f64) -> f64 {
    let l = w.len() as f64;
    let wm = w.iter().sum::<f64>() / l;
    let cc: Vec<f64> = c.iter().map(|v| v - e).collect();
    let m = cc.iter().sum::<f64>() / l;
    let var = cc.iter().map(|v| v * v).sum::<f64>() / l;
    let cov = w.iter().zip(&cc).map(|(a, b)| (a - wm) * b).sum::<f64>() / l;
    wm - cov / (var + 1e-24) * m
}

#[test]
fn cv_combine_matches_reference_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    assert!(sw_loss::kernel_support::is_flex(&device));
    let (w, c, e, b, l) = combine_inputs();
    let raws: Vec<f64> = (0..b)
        .map(|r| raw_estimate(&w[r * l..(r + 1) * l], &c[r * l..(r + 1) * l], e[r]))
        .collect();
    assert!(
        raws[..3].iter().all(|v| *v > 0.1),
        "rows 0–2 unclamped: {raws:?}"
    );
    assert!(raws[3] < -0.1, "row 3 clamps: {raws:?}");
    let coef = vec![1.0, -0.7, 2.1, 1.3];
    for dtype in [DType::F32, DType::F64] {
        for detach in [false, true] {
            let run = |fused: bool| {
                let wt = t2(w.clone(), b, l, &device, dtype).require_grad();
                let ct = t2(c.clone(), b, l, &device, dtype).require_grad();
                let et = t2(e.clone(), b, 1, &device, dtype).require_grad();
                let out = if fused {
                    cv_combine(wt.clone(), ct.clone(), et.clone(), detach)
                } else {
                    cv_combine_reference(wt.clone(), ct.clone(), et.clone(), detach)
                };
                let value = to_vec(out.clone());
                let grads = (out * t1(coef.clone(), &device, dtype)).sum().backward();
                let g = |t: &Tensor<2>| to_vec(t.grad(&grads).expect("gradient"));
                (value, g(&wt), g(&ct), g(&et))
            };
            let (v1, gw1, gc1, ge1) = run(true);
            let (v2, gw2, gc2, ge2) = run(false);
            let what = format!("{dtype:?} detach={detach}");
            assert_eq!(v1[3], 0.0, "{what}: clamped row");
            assert!(
                worst(&v1, &v2, 1e-6) < tol(dtype),
                "{what}: values {v1:?} vs {v2:?}"
            );
            // The clamped row passes no gradient.
            assert!(gw1[3 * l..].iter().chain(&gc1[3 * l..]).all(|v| *v == 0.0) && ge1[3] == 0.0);
            for (name, a, r) in [("W", &gw1, &gw2), ("C", &gc1, &gc2), ("E", &ge1, &ge2)] {
                let err = worst(a, r, 1e-4);
                assert!(
                    err < 10.0 * tol(dtype),
                    "{what}: ∂/∂{name} error {err}: {a:?} vs {r:?}"
                );
            }
            if detach {
                // ∂est/∂W_l = g/L exactly on unclamped rows.
                for r in 0..3 {
                    for j in 0..l {
                        let want = coef[r] / l as f64;
                        assert!((gw1[r * l + j] - want).abs() < tol(dtype) * want.abs().max(1.0));
                    }
                }
            }
        }
    }
}

#[test]
fn projected_cv_matches_reference_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    let (b, l, n, m) = (2, 5, 9, 7);
    let mut rng = HostRng::new(8);
    let px: Vec<f64> = rng
        .normals(b * l * n)
        .iter()
        .map(|v| 1.3 * v + 0.4)
        .collect();
    let py: Vec<f64> = rng
        .normals(b * l * m)
        .iter()
        .map(|v| 0.7 * v - 0.2)
        .collect();
    let coef = rng.normals(b * l);
    for dtype in [DType::F32, DType::F64] {
        for upper in [false, true] {
            let run = |fused: bool| {
                let op = |x: Tensor<3>, y: Tensor<3>| {
                    if fused {
                        projected_cv(x, y, upper)
                    } else {
                        projected_cv_reference(x, y, upper)
                    }
                };
                let weights = t2(coef.clone(), b, l, &device, dtype);
                let inputs = (
                    t3(px.clone(), [b, l, n], &device, dtype),
                    t3(py.clone(), [b, l, m], &device, dtype),
                );
                value_and_input_grads(inputs, op, |out, _| (out * weights).sum())
            };
            let (v1, gx1, gy1) = run(true);
            let (v2, gx2, gy2) = run(false);
            let what = format!("{dtype:?} upper={upper}");
            assert!(worst(&v1, &v2, 1e-6) < tol(dtype), "{what}: values");
            assert!(
                worst(&gx1, &gx2, 1e-4) < 10.0 * tol(dtype),
                "{what}: ∂/∂P_x"
            );
            assert!(
                worst(&gy1, &gy2, 1e-4) < 10.0 * tol(dtype),
                "{what}: ∂/∂P_y"
            );
        }
    }
}

#[test]
fn cv_expectation_matches_reference_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    let (b, n, m, d) = (2, 9, 7, 20);
    let mut rng = HostRng::new(9);
    let x: Vec<f64> = rng
        .normals(b * n * d)
        .iter()
        .map(|v| 1.1 * v + 0.5)
        .collect();
    let y: Vec<f64> = rng
        .normals(b * m * d)
        .iter()
        .map(|v| 0.6 * v - 0.3)
        .collect();
    let other = rng.normals(b * n * d);
    for dtype in [DType::F32, DType::F64] {
        for upper in [false, true] {
            let run = |fused: bool| {
                let op = |x: Tensor<3>, y: Tensor<3>| {
                    if fused {
                        cv_expectation(x, y, upper)
                    } else {
                        cv_expectation_reference(x, y, upper)
                    }
                };
                let weights = t2(vec![1.7, -0.9], b, 1, &device, dtype);
                let other = t3(other.clone(), [b, n, d], &device, dtype);
                let inputs = (
                    t3(x.clone(), [b, n, d], &device, dtype),
                    t3(y.clone(), [b, m, d], &device, dtype),
                );
                // A second, contiguous gradient of x, so the (for the lower variate
                // broadcast) gradient is accumulated with another one.
                value_and_input_grads(inputs, op, |out, x| {
                    (out * weights).sum() + (x.clone() * other).sum()
                })
            };
            let (v1, gx1, gy1) = run(true);
            let (v2, gx2, gy2) = run(false);
            let what = format!("{dtype:?} upper={upper}");
            assert!(
                worst(&v1, &v2, 1e-6) < tol(dtype),
                "{what}: values {v1:?} vs {v2:?}"
            );
            // Burn's f64 composition on Flex carries f32-sized errors (up to ~1e-7, apparently
            // an f32 scalar in a mean's backward) in these gradients, so f64 is compared at 1e-6
            // here, and the fused gradient is checked against the host formula in f64 besides.
            let gtol = if dtype == DType::F32 { 2e-4 } else { 1e-6 };
            assert!(worst(&gx1, &gx2, 1e-3) < gtol, "{what}: ∂/∂x");
            assert!(worst(&gy1, &gy2, 1e-3) < gtol, "{what}: ∂/∂y");
            if dtype == DType::F64 {
                // ∂E/∂x_{b,i,k} = 2 g_b (m₂ − m₁ and x − m₂ as in the module formula) / (n d).
                for bi in 0..b {
                    let g = [1.7, -0.9][bi];
                    let col = |v: &[f64], len: usize, k: usize| {
                        (0..len).map(|i| v[(bi * len + i) * d + k]).sum::<f64>() / len as f64
                    };
                    for i in 0..n {
                        for k in 0..d {
                            let at = (bi * n + i) * d + k;
                            let t = if upper {
                                x[at] - col(&y, m, k)
                            } else {
                                col(&x, n, k) - col(&y, m, k)
                            };
                            let want = other[at] + 2.0 * g * t / (n * d) as f64;
                            assert!((gx1[at] - want).abs() < 1e-13, "{what}: host ∂/∂x at {at}");
                        }
                    }
                }
            }
        }
    }
}

/// Central differences (f64) of `f` at `v` against `analytic`.
fn check_fd(what: &str, v: &[f64], analytic: &[f64], f: &dyn Fn(Vec<f64>) -> f64) {
    let h = 1e-6;
    let mut err = 0f64;
    for i in 0..v.len() {
        let (mut plus, mut minus) = (v.to_vec(), v.to_vec());
        plus[i] += h;
        minus[i] -= h;
        let fd = (f(plus) - f(minus)) / (2.0 * h);
        err = err.max((fd - analytic[i]).abs() / fd.abs().max(analytic[i].abs()).max(1e-3));
    }
    assert!(
        err < 1e-6,
        "{what}: worst relative error against finite differences {err}"
    );
}

#[test]
fn fused_cv_ops_match_finite_differences() {
    let device = Device::flex().autodiff();
    let dtype = DType::F64;
    // cv_combine with γ̂ differentiated, rows 0–2 (row 3 is clamped, a kink at the FD scale
    // only where est = 0).
    let (w, c, e, _, l) = combine_inputs();
    let (w, c, e) = (w[..3 * l].to_vec(), c[..3 * l].to_vec(), e[..3].to_vec());
    let coef = [1.0, -0.7, 2.1];
    let value = |w: Vec<f64>, c: Vec<f64>, e: Vec<f64>| {
        let out = cv_combine(
            t2(w, 3, l, &device, dtype),
            t2(c, 3, l, &device, dtype),
            t2(e, 3, 1, &device, dtype),
            false,
        );
        to_vec(out)
            .iter()
            .zip(coef)
            .map(|(a, b)| a * b)
            .sum::<f64>()
    };
    let wt = t2(w.clone(), 3, l, &device, dtype).require_grad();
    let ct = t2(c.clone(), 3, l, &device, dtype).require_grad();
    let et = t2(e.clone(), 3, 1, &device, dtype).require_grad();
    let grads = (cv_combine(wt.clone(), ct.clone(), et.clone(), false)
        * t1(coef.to_vec(), &device, dtype))
    .sum()
    .backward();
    check_fd(
        "cv_combine ∂/∂W",
        &w,
        &to_vec(wt.grad(&grads).unwrap()),
        &|v| value(v, c.clone(), e.clone()),
    );
    check_fd(
        "cv_combine ∂/∂C",
        &c,
        &to_vec(ct.grad(&grads).unwrap()),
        &|v| value(w.clone(), v, e.clone()),
    );
    check_fd(
        "cv_combine ∂/∂E",
        &e,
        &to_vec(et.grad(&grads).unwrap()),
        &|v| value(w.clone(), c.clone(), v),
    );

    // projected_cv and cv_expectation, both variates, with respect to the first input.
    let mut rng = HostRng::new(10);
    let (b, l, n, m, d) = (2, 3, 6, 5, 18);
    let px = rng.normals(b * l * n);
    let py: Vec<f64> = rng.normals(b * l * m).iter().map(|v| v + 0.4).collect();
    let x = rng.normals(b * n * d);
    let y: Vec<f64> = rng
        .normals(b * m * d)
        .iter()
        .map(|v| 0.5 * v + 0.2)
        .collect();
    let coef = rng.normals(b * l);
    for upper in [false, true] {
        let cv_value = |v: Vec<f64>| {
            let out = projected_cv(
                t3(v, [b, l, n], &device, dtype),
                t3(py.clone(), [b, l, m], &device, dtype),
                upper,
            );
            to_vec(out)
                .iter()
                .zip(&coef)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let pt = t3(px.clone(), [b, l, n], &device, dtype).require_grad();
        let out = projected_cv(pt.clone(), t3(py.clone(), [b, l, m], &device, dtype), upper);
        let g = to_vec(
            pt.grad(
                &(out * t2(coef.clone(), b, l, &device, dtype))
                    .sum()
                    .backward(),
            )
            .unwrap(),
        );
        check_fd(&format!("projected_cv upper={upper}"), &px, &g, &cv_value);

        let e_value = |v: Vec<f64>| {
            let out = cv_expectation(
                t3(v, [b, n, d], &device, dtype),
                t3(y.clone(), [b, m, d], &device, dtype),
                upper,
            );
            to_vec(out)
                .iter()
                .zip([1.3, -0.6])
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let xt = t3(x.clone(), [b, n, d], &device, dtype).require_grad();
        let out = cv_expectation(xt.clone(), t3(y.clone(), [b, m, d], &device, dtype), upper);
        let g = to_vec(
            xt.grad(
                &(out * t2(vec![1.3, -0.6], b, 1, &device, dtype))
                    .sum()
                    .backward(),
            )
            .unwrap(),
        );
        check_fd(&format!("cv_expectation upper={upper}"), &x, &g, &e_value);
    }
}

/// The whole LCV/UCV estimator in d = 24 > 16 (all three fused ops on Flex) against central
/// differences in x, and against the Burn-op path of a weighted measure with equal weights
/// (which takes the reference compositions).
#[test]
fn large_d_control_variates_match_finite_differences_and_the_composition() {
    let device = Device::flex().autodiff();
    let dtype = DType::F64;
    let (n, d, l) = (10, 24, 7);
    let mut rng = HostRng::new(12);
    let x = rng.normals(n * d);
    let y: Vec<f64> = rng.normals(n * d).iter().map(|v| 1.4 * v + 0.3).collect();
    let th = rng.unit_rows(l, d);
    let dirs = Directions::Shared(t2(th, l, d, &device, dtype));
    for kind in [ControlVariate::Lower, ControlVariate::Upper] {
        let estimate = |xv: Vec<f64>, weighted: bool| {
            let xt = t2(xv, n, d, &device, dtype).require_grad();
            let (mut xm, mut ym) = (
                Measure::single(xt.clone()),
                Measure::single(t2(y.clone(), n, d, &device, dtype)),
            );
            if weighted {
                xm = xm.with_weights_1d(t1(vec![1.0; n], &device, dtype));
                ym = ym.with_weights_1d(t1(vec![1.0; n], &device, dtype));
            }
            let v = cv_sw_pp_with_directions(
                &xm,
                &ym,
                &dirs,
                2.0,
                kind,
                Gamma::Fitted,
                BatchReduction::Mean,
            )
            .unwrap();
            (xt, v)
        };
        let (xt, v) = estimate(x.clone(), false);
        let value = scalar(v.clone());
        let g = to_vec(xt.grad(&v.backward()).unwrap());
        check_fd(&format!("{kind:?} d={d}"), &x, &g, &|xv| {
            scalar(estimate(xv, false).1)
        });
        let (xw, vw) = estimate(x.clone(), true);
        assert!(
            rel_err(value, scalar(vw.clone())) < 1e-12,
            "{kind:?}: fused vs composition value"
        );
        let gw = to_vec(xw.grad(&vw.backward()).unwrap());
        // (1e-6: Burn's f64 composition carries f32-sized errors in its mean gradients; the
        // finite differences above check the fused gradient at 1e-6 too.)
        assert!(
            worst(&g, &gw, 1e-6) < 1e-6,
            "{kind:?}: fused vs composition gradient"
        );
    }
}

/// The upper variate's gradient buffer is reused across backward passes only once nothing
/// else holds it: a gradient the caller keeps is never overwritten by a later pass.
#[test]
fn reused_expectation_gradient_buffer_is_never_shared() {
    let device = Device::flex().autodiff();
    let (b, n, m, d) = (1, 8, 6, 40);
    let mut rng = HostRng::new(14);
    let x = rng.normals(b * n * d);
    let y = rng.normals(b * m * d);
    let grad = |scale: f64| {
        let xt = t3(x.clone(), [b, n, d], &device, DType::F32).require_grad();
        let yt = t3(y.clone(), [b, m, d], &device, DType::F32);
        let e = cv_expectation(xt.clone(), yt, true).sum().mul_scalar(scale);
        xt.grad(&e.backward()).unwrap()
    };
    let first = grad(1.0);
    let first_values = to_vec(first.clone());
    // `first` is still held: the second pass must not write into its buffer.
    let second = grad(-3.0);
    assert_eq!(
        to_vec(first.clone()),
        first_values,
        "a held gradient was overwritten"
    );
    let second_values = to_vec(second);
    for (a, s) in first_values.iter().zip(&second_values) {
        assert!((s + 3.0 * a).abs() <= 1e-5 * a.abs().max(1e-3));
    }
    drop(first);
    // Nothing holds the buffers now: later passes reuse one and stay correct.
    for scale in [2.0, 0.5] {
        let v = to_vec(grad(scale));
        for (a, s) in first_values.iter().zip(&v) {
            assert!((s - scale * a).abs() <= 1e-5 * a.abs().max(1e-3));
        }
    }
}
