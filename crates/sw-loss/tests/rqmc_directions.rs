//! Randomized QMC directions: unit rows, unbiased SW₂² (the mean over many randomisations
//! equals an independent value within its standard error), lower variance than i.i.d.
//! directions, and usable by every estimator through `LossConfig`.
//!
//! Independent values: a closed form in any d, and an f64 Fibonacci quadrature on S² with
//! host-side projections and sorts (`common::host`).

mod common;

static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

use burn::tensor::{DType, Device};
use common::*;
use sw_loss::directions::{self, DirectionKind};
use sw_loss::{Measure, SlicedOptions, sw_pp};

fn lock() -> std::sync::MutexGuard<'static, ()> {
    RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mean and standard error of the mean.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// R estimates of SW₂² with L directions of `kind`.
fn estimates(x: &Measure, y: &Measure, kind: DirectionKind, l: usize, reps: usize) -> Vec<f64> {
    let opts = SlicedOptions::new(l, 2.0).with_directions(kind);
    (0..reps)
        .map(|_| scalar(sw_pp(x, y, &opts).unwrap()))
        .collect()
}

/// Two-point measures μ = ½(δ_a + δ_{−a}), ν = ½(δ_b + δ_{−b}) with a ⊥ b: along θ the sorted
/// supports are ±|θᵀa| and ±|θᵀb|, so W₂²(θ) = (|θᵀa| − |θᵀb|)², a non-smooth integrand, and
/// E over Unif(S^{d−1}) = (‖a‖² + ‖b‖² − 2‖a‖‖b‖·(2/π)) / d, since E|θ₁θ₂| = E|g₁|E|g₂|/d = 2/(πd).
fn two_point_pair(d: usize, device: &Device) -> (Measure, Measure, f64) {
    let mut rng = HostRng::new(40 + d as u64);
    let e = rng.unit_rows(1, d);
    let mut f = rng.normals(d);
    let dot: f64 = e.iter().zip(&f).map(|(u, v)| u * v).sum();
    f.iter_mut().zip(&e).for_each(|(v, u)| *v -= dot * u);
    let norm = f.iter().map(|v| v * v).sum::<f64>().sqrt();
    f.iter_mut().for_each(|v| *v /= norm);
    let (ra, rb) = (1.5, 1.0);
    let a: Vec<f64> = e.iter().map(|v| ra * v).collect();
    let b: Vec<f64> = f.iter().map(|v| rb * v).collect();
    let pm = |v: &[f64]| [v.to_vec(), v.iter().map(|c| -c).collect()].concat();
    let exact = (ra * ra + rb * rb - 2.0 * ra * rb * 2.0 / std::f64::consts::PI) / d as f64;
    (
        Measure::single(t2(pm(&a), 2, d, device, DType::F64)),
        Measure::single(t2(pm(&b), 2, d, device, DType::F64)),
        exact,
    )
}

#[test]
fn rqmc_rows_are_unit_vectors_and_reproducible() {
    let _g = lock();
    let device = Device::flex();
    for kind in [DirectionKind::Rqmc, DirectionKind::Halton] {
        for d in [1usize, 2, 3, 5, 40] {
            device.seed(8);
            let a = to_vec(directions::sample_as(kind, 13, d, &device, DType::F64));
            device.seed(8);
            let b = to_vec(directions::sample_as(kind, 13, d, &device, DType::F64));
            assert_eq!(a, b, "{kind:?} d={d}: same seed, same directions");
            for row in a.chunks_exact(d) {
                let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!((norm - 1.0).abs() < 1e-12, "{kind:?} d={d}: ‖θ‖ = {norm}");
            }
            if d > 1 {
                // (d = 1 has only the two sign patterns of the alternating base-2 digit.)
                let c = to_vec(directions::sample_as(kind, 13, d, &device, DType::F64));
                assert_ne!(a, c, "{kind:?} d={d}: a new draw is a new randomisation");
            }
        }
    }
}

/// Mean over 400 randomisations against the closed form, within 4 standard errors, in
/// d = 2 (rotated circle lattice), 3 (rotated Fibonacci), 3 and 6 (scrambled Halton).
#[test]
fn rqmc_sw_is_unbiased_on_a_closed_form() {
    let _g = lock();
    let device = Device::flex();
    device.seed(11);
    let mut report = String::new();
    for (kind, d) in [
        (DirectionKind::Rqmc, 2),
        (DirectionKind::Rqmc, 3),
        (DirectionKind::Halton, 3),
        (DirectionKind::Halton, 6),
        (DirectionKind::Uniform, 3),
    ] {
        let (x, y, exact) = two_point_pair(d, &device);
        let (mean, se) = mean_se(&estimates(&x, &y, kind, 8, 400));
        report += &format!("{kind:?} d={d}: mean {mean:.6} ± {se:.2e}, exact {exact:.6}\n");
        assert!(se > 0.0, "randomised: the estimates vary\n{report}");
        assert!(
            (mean - exact).abs() < 4.0 * se,
            "biased: |mean − exact| = {:.3e} > 4 SE\n{report}",
            (mean - exact).abs()
        );
    }
    println!("{report}");
}

/// Two different 3-D clouds: the RQMC means equal an f64 Fibonacci quadrature with 200 000
/// directions (host projections and sorts), and at L = 16 the rotated Fibonacci lattice has
/// at least 4× less variance than i.i.d. uniform directions.
#[test]
fn rqmc_sw_is_unbiased_and_lower_variance_on_clouds() {
    let _g = lock();
    let device = Device::flex();
    let (n, d) = (48, 3);
    let mut rng = HostRng::new(77);
    let x = rng.normals(n * d);
    let y: Vec<f64> = rng
        .normals(n * d)
        .iter()
        .enumerate()
        .map(|(i, v)| v * [1.6, 0.4, 0.9][i % 3] + [0.5, -0.3, 0.2][i % 3])
        .collect();
    let truth = host::fibonacci_mean(200_000, |th| host::wpp(&x, &y, d, th, 2.0));
    let coarse = host::fibonacci_mean(50_000, |th| host::wpp(&x, &y, d, th, 2.0));
    assert!(
        rel_err(coarse, truth) < 1e-4,
        "quadrature converged: {coarse} vs {truth}"
    );
    let xm = Measure::single(t2(x, n, d, &device, DType::F64));
    let ym = Measure::single(t2(y, n, d, &device, DType::F64));
    device.seed(12);
    let mut report = format!("quadrature {truth:.6}\n");
    let mut variance = Vec::new();
    for kind in [
        DirectionKind::Uniform,
        DirectionKind::Rqmc,
        DirectionKind::Halton,
    ] {
        let est = estimates(&xm, &ym, kind, 16, 400);
        let (mean, se) = mean_se(&est);
        report += &format!("{kind:?}: mean {mean:.6} ± {se:.2e}\n");
        assert!(
            (mean - truth).abs() < 4.0 * se,
            "{kind:?} biased: |mean − truth| = {:.3e} > 4 SE\n{report}",
            (mean - truth).abs()
        );
        variance.push(se * se);
    }
    println!("{report}");
    assert!(
        variance[0] / variance[1] >= 4.0,
        "rotated Fibonacci variance ratio {} < 4\n{report}",
        variance[0] / variance[1]
    );
    assert!(
        variance[0] / variance[2] >= 1.5,
        "scrambled Halton variance ratio {} < 1.5\n{report}",
        variance[0] / variance[2]
    );
}
