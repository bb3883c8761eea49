//! Gradients against central finite differences (f64 on Flex, and on LibTorch with `tch`), and the fused kernel against
//! its reference twin (values and gradients).

mod common;

/// Tests here draw from the shared device RNG after seeding it; run them one at a time so
/// the draws are reproducible.
static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

use burn::tensor::{DType, Device, Distribution, Tensor};
use common::*;
use sw_loss::kernel::{project, sorted_wpp};
use sw_loss::kernel_support::is_flex;
use sw_loss::one_d::wpp_sorted;
use sw_loss::sliced::project_reference;
use sw_loss::{
    BatchReduction, ControlVariate, Directions, Gamma, Measure, cv_sw_with_directions,
    sw_with_directions,
};

type Loss = dyn Fn(&Measure, &Measure, &Directions) -> Tensor<1>;

/// Compares d loss / d x from autodiff with central differences, entry by entry.
/// On every test device (flex, and tch in a `--features tch` build).
fn check_gradient(name: &str, n: usize, m: usize, d: usize, weighted: bool, loss: &Loss) {
    for (device_name, device) in test_devices() {
        check_gradient_on(
            &format!("{name} on {device_name}"),
            device.autodiff(),
            n,
            m,
            d,
            weighted,
            loss,
        );
    }
}

fn check_gradient_on(
    name: &str,
    device: Device,
    n: usize,
    m: usize,
    d: usize,
    weighted: bool,
    loss: &Loss,
) {
    let mut rng = HostRng::new(17);
    let x = rng.normals(n * d);
    let y: Vec<f64> = rng.normals(m * d).iter().map(|v| 0.8 * v + 0.3).collect();
    let th = rng.unit_rows(12, d);
    let weights = weighted.then(|| {
        (
            (0..n).map(|_| rng.uniform() + 0.2).collect::<Vec<_>>(),
            (0..m).map(|_| rng.uniform() + 0.2).collect::<Vec<_>>(),
        )
    });
    let make = |xv: Vec<f64>| {
        let xt = t2(xv, n, d, &device, DType::F64).require_grad();
        let mut xm = Measure::single(xt.clone());
        let mut ym = Measure::single(t2(y.clone(), m, d, &device, DType::F64));
        if let Some((a, b)) = &weights {
            xm = xm.with_weights_1d(t1(a.clone(), &device, DType::F64));
            ym = ym.with_weights_1d(t1(b.clone(), &device, DType::F64));
        }
        let dirs = Directions::Shared(t2(th.clone(), 12, d, &device, DType::F64));
        (xt, loss(&xm, &ym, &dirs))
    };
    let (xt, value) = make(x.clone());
    let grads = value.backward();
    let analytic = to_vec(xt.grad(&grads).expect("gradient of x"));
    let h = 1e-6;
    let mut worst = 0f64;
    for i in 0..n * d {
        let mut plus = x.clone();
        plus[i] += h;
        let mut minus = x.clone();
        minus[i] -= h;
        let fd = (scalar(make(plus).1) - scalar(make(minus).1)) / (2.0 * h);
        let err = (fd - analytic[i]).abs() / (fd.abs().max(analytic[i].abs()).max(1e-3));
        worst = worst.max(err);
    }
    assert!(
        worst < 1e-5,
        "{name}: worst relative gradient error {worst}"
    );
}

#[test]
fn sw_gradient_matches_finite_differences() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for p in [2.0, 3.0, 1.5] {
        check_gradient(&format!("sw p={p}"), 15, 15, 3, false, &move |x, y, th| {
            sw_with_directions(x, y, th, p, BatchReduction::Mean).unwrap()
        });
    }
}

#[test]
fn weighted_unequal_sw_gradient_matches_finite_differences() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    check_gradient("weighted sw", 13, 19, 3, true, &|x, y, th| {
        sw_with_directions(x, y, th, 2.0, BatchReduction::Mean).unwrap()
    });
}

#[test]
fn control_variate_gradients_match_finite_differences() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (name, kind) in [
        ("lcv", ControlVariate::Lower),
        ("ucv", ControlVariate::Upper),
    ] {
        check_gradient(name, 15, 15, 3, false, &move |x, y, th| {
            cv_sw_with_directions(x, y, th, 2.0, kind, Gamma::Fitted, BatchReduction::Mean).unwrap()
        });
        check_gradient(
            &format!("{name} weighted"),
            11,
            14,
            3,
            true,
            &move |x, y, th| {
                cv_sw_with_directions(x, y, th, 2.0, kind, Gamma::Fitted, BatchReduction::Mean)
                    .unwrap()
            },
        );
    }
}

/// The fused kernel equals the plain composition, in value and in both gradients.
#[test]
fn fused_kernel_matches_reference_twin() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    assert!(
        is_flex(&device),
        "the default device is Flex: the kernel must be used"
    );
    for &(r, n, p) in &[
        (7usize, 5usize, 2.0),
        (13, 300, 2.0),
        (4, 2048, 1.0),
        (9, 777, 3.0),
        (3, 191, 1.5),
    ] {
        for dtype in [DType::F32, DType::F64] {
            // Host-generated (deterministic) data: with ties the two sorts may pair equal values
            // differently, which changes individual gradient entries but not their sum.
            let mut rng = HostRng::new((r * n) as u64);
            let px = t2(rng.normals(r * n), r, n, &device, dtype).require_grad();
            let py = t2(
                rng.normals(r * n).iter().map(|v| 2.0 * v + 0.5).collect(),
                r,
                n,
                &device,
                dtype,
            )
            .require_grad();
            let weights = t1(
                (0..r).map(|_| 0.5 + rng.uniform()).collect(),
                &device,
                dtype,
            );
            let fused = sorted_wpp(px.clone(), py.clone(), p);
            let reference = wpp_sorted(px.clone(), py.clone(), p);
            let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
            for (a, b) in to_vec(fused.clone()).iter().zip(to_vec(reference.clone())) {
                assert!(rel_err(*a, b) < tol, "r={r} n={n} p={p}: {a} vs {b}");
            }
            let g1 = (fused * weights.clone()).sum().backward();
            let g2 = (reference * weights).sum().backward();
            for t in [&px, &py] {
                let (a, b) = (to_vec(t.grad(&g1).unwrap()), to_vec(t.grad(&g2).unwrap()));
                let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
                for (u, v) in a.iter().zip(&b) {
                    assert!(
                        (u - v).abs() <= tol * scale.max(1e-12) * 10.0,
                        "gradient r={r} n={n} p={p}: {u} vs {v}"
                    );
                }
            }
        }
    }
}

/// The fused projection equals `matmul`, in value and in the gradients of points and
/// directions, for small d (per-direction loop) and large d (per-point loop).
#[test]
fn fused_projection_matches_matmul() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    for &(b, n, l, d) in &[
        (2usize, 50usize, 7usize, 3usize),
        (3, 33, 5, 64),
        (1, 20, 4, 300),
        (2, 17, 10, 8193),
    ] {
        for dtype in [DType::F32, DType::F64] {
            let x =
                Tensor::<3>::random([b, n, d], Distribution::Normal(0.0, 1.0), (&device, dtype))
                    .require_grad();
            let th =
                Tensor::<3>::random([b, l, d], Distribution::Normal(0.0, 1.0), (&device, dtype))
                    .require_grad();
            let weights =
                Tensor::<3>::random([b, l, n], Distribution::Normal(0.0, 1.0), (&device, dtype));
            let fused = project(x.clone(), th.clone());
            let reference = project_reference(x.clone(), th.clone());
            assert_eq!(fused.dims(), [b, l, n]);
            let tol = if dtype == DType::F32 { 1e-4 } else { 1e-10 };
            let close = |a: Vec<f64>, r: Vec<f64>, what: &str| {
                let scale = r.iter().fold(1f64, |m, v| m.max(v.abs()));
                for (u, v) in a.iter().zip(&r) {
                    assert!(
                        (u - v).abs() <= tol * scale,
                        "{what} b={b} n={n} l={l} d={d}: {u} vs {v}"
                    );
                }
            };
            close(to_vec(fused.clone()), to_vec(reference.clone()), "value");
            let g1 = (fused * weights.clone()).sum().backward();
            let g2 = (reference * weights).sum().backward();
            close(
                to_vec(x.grad(&g1).unwrap()),
                to_vec(x.grad(&g2).unwrap()),
                "grad x",
            );
            close(
                to_vec(th.grad(&g1).unwrap()),
                to_vec(th.grad(&g2).unwrap()),
                "grad theta",
            );
        }
    }
}

/// The fused moments equal their reference twin (`mean_dim`, `square().sum_dim()`), in value
/// and gradient, for small and large d, f32 and f64.
#[test]
fn fused_moments_match_reference_twin() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    for &(b, n, d) in &[
        (1usize, 7usize, 3usize),
        (3, 50, 3),
        (2, 33, 1500),
        (1, 128, 8193),
    ] {
        for dtype in [DType::F32, DType::F64] {
            let mut rng = HostRng::new((b * n * d) as u64);
            let data: Vec<f64> = rng.normals(b * n * d).iter().map(|v| v + 2.0).collect();
            let x = Tensor::<3>::from_data(
                burn::tensor::TensorData::new(data.clone(), [b, n, d]),
                (&device, dtype),
            )
            .require_grad();
            let weights = t2(rng.normals(b * (d + 1)), b, d + 1, &device, dtype);
            let fused = sw_loss::kernel::moments(x.clone());
            let reference = sw_loss::kernel::moments_reference(x.clone());
            assert_eq!(fused.dims(), [b, d + 1]);
            let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
            // Independent host value of the mean and second moment of the first element.
            let host_mean0: f64 = (0..n).map(|i| data[i * d]).sum::<f64>() / n as f64;
            let host_second: f64 = data[..n * d].iter().map(|v| v * v).sum::<f64>() / n as f64;
            let f = to_vec(fused.clone());
            assert!(
                rel_err(f[0], host_mean0) < tol * 10.0,
                "mean {} vs {host_mean0}",
                f[0]
            );
            assert!(
                rel_err(f[d], host_second) < tol,
                "second {} vs {host_second}",
                f[d]
            );
            for (u, v) in f.iter().zip(to_vec(reference.clone())) {
                assert!(rel_err(*u, v) < tol * 10.0, "b={b} n={n} d={d}: {u} vs {v}");
            }
            let g1 = to_vec(x.grad(&(fused * weights.clone()).sum().backward()).unwrap());
            let g2 = to_vec(x.grad(&(reference * weights).sum().backward()).unwrap());
            let scale = g2.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (u, v) in g1.iter().zip(&g2) {
                assert!(
                    (u - v).abs() <= tol * 10.0 * scale,
                    "grad b={b} n={n} d={d}: {u} vs {v}"
                );
            }
        }
    }
}
