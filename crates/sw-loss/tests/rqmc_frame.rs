//! The large-d RQMC sampler (`qmc::frame_directions`: a Haar-random frame over a cached
//! scrambled-Halton set): unit rows with the cached set's Gram matrix, reproducible under
//! `device.seed`, isotropic (E[θθᵀ] = I/d over draws), and the LCV/UCV closed forms E[C] hold
//! (the mean of C(θ) over draws equals them).

mod common;

use burn::tensor::{DType, Device};
use common::*;
use sw_loss::control_variates::control_variate_terms;
use sw_loss::directions::{self, DirectionKind};
use sw_loss::qmc::{FRAME_BASE_SEED, FRAME_MIN_D, frame_base_set, frame_directions_host};
use sw_loss::{ControlVariate, Directions, Measure};

static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// ΘΘᵀ of row-major `[L, d]`.
fn gram(t: &[f64], l: usize, d: usize) -> Vec<f64> {
    let mut g = vec![0.0; l * l];
    for i in 0..l {
        for j in 0..l {
            g[i * l + j] = (0..d).map(|k| t[i * d + k] * t[j * d + k]).sum();
        }
    }
    g
}

#[test]
fn frame_directions_are_unit_with_the_cached_sets_gram() {
    let _g = lock();
    let device = Device::flex();
    for (l, d) in [(10, 8193), (16, FRAME_MIN_D), (32, 64), (7, 200)] {
        let base = gram(&frame_base_set(l, d, FRAME_BASE_SEED), l, d);
        // The base set's rows are not orthogonal (else the check would be trivial).
        let off = (0..l * l)
            .filter(|i| i / l != i % l)
            .map(|i| base[i].abs())
            .fold(0.0, f64::max);
        assert!(off > 1e-3, "L={l} d={d}: base Gram is diagonal");
        for dtype in [DType::F64, DType::F32] {
            device.seed(21);
            let a = to_vec(directions::sample_as(
                DirectionKind::Rqmc,
                l,
                d,
                &device,
                dtype,
            ));
            device.seed(21);
            let b = to_vec(directions::sample_as(
                DirectionKind::Rqmc,
                l,
                d,
                &device,
                dtype,
            ));
            let c = to_vec(directions::sample_as(
                DirectionKind::Rqmc,
                l,
                d,
                &device,
                dtype,
            ));
            assert_eq!(a, b, "L={l} d={d} {dtype:?}: same seed, same directions");
            assert_ne!(a, c, "L={l} d={d} {dtype:?}: a new draw is a new frame");
            let unit = if dtype == DType::F64 { 1e-12 } else { 1e-6 };
            for row in a.chunks_exact(d) {
                let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!(
                    (norm - 1.0).abs() < unit,
                    "L={l} d={d} {dtype:?}: ‖θ‖ = {norm}"
                );
            }
            let g = gram(&a, l, d);
            let err = g
                .iter()
                .zip(&base)
                .map(|(u, v)| (u - v).abs())
                .fold(0.0, f64::max);
            assert!(
                err < 1e-5,
                "L={l} d={d} {dtype:?}: Gram differs from the base set's by {err}"
            );
        }
    }
}

/// Over N draws the mean of (1/L) Σ_l θ_l θ_lᵀ equals I/d: every one of the d² entries within
/// 5.5 standard errors (SE from the draws; the probability that any of 6 400 entries of an
/// unbiased sampler exceeds 5.5 SE is about 2e-4, and the seeds are fixed), and the sum of the
/// squared errors within 1.3× the sum of the squared SEs (its expectation for an unbiased
/// sampler). A sampler that kept the fixed base set, or one rotation per L-subspace that was
/// not Haar, fails both by orders of magnitude.
#[test]
fn frame_directions_are_isotropic() {
    let (l, d, draws) = (10, 80, 4000);
    let mut sum = vec![0f64; d * d];
    let mut sum_sq = vec![0f64; d * d];
    let mut a = vec![0f64; d * d];
    for s in 0..draws {
        let t = frame_directions_host(l, d, 1_000 + s as u64, FRAME_BASE_SEED);
        a.iter_mut().for_each(|v| *v = 0.0);
        for row in t.chunks_exact(d) {
            for j in 0..d {
                for k in 0..d {
                    a[j * d + k] += row[j] * row[k] / l as f64;
                }
            }
        }
        for ((s1, s2), v) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(&a) {
            *s1 += v;
            *s2 += v * v;
        }
    }
    let n = draws as f64;
    let (mut worst, mut err2, mut se2) = (0f64, 0f64, 0f64);
    for j in 0..d {
        for k in 0..d {
            let i = j * d + k;
            let mean = sum[i] / n;
            let var = (sum_sq[i] / n - mean * mean) * n / (n - 1.0);
            let se = (var / n).sqrt();
            let want = if j == k { 1.0 / d as f64 } else { 0.0 };
            worst = worst.max((mean - want).abs() / se);
            err2 += (mean - want).powi(2);
            se2 += se * se;
        }
    }
    println!(
        "worst |mean − I/d| = {worst:.2} SE, Σ err² / Σ SE² = {:.3}",
        err2 / se2
    );
    assert!(worst < 5.5, "an entry of E[θθᵀ] is {worst:.2} SE from I/d");
    assert!(
        err2 / se2 < 1.3,
        "Σ err² / Σ SE² = {} (≈ 1 when unbiased)",
        err2 / se2
    );
}

/// Anisotropic clouds in d = 80: over 5 000 draws of the RQMC frame directions the mean of
/// C(θ_l) (lower and upper) equals the closed form E[C] within 4.5 standard errors, and the
/// standard error is below 1% of E[C], so a bias of a few percent would fail.
#[test]
fn control_variate_closed_forms_hold_for_frame_directions() {
    let _g = lock();
    let device = Device::flex();
    let (n, d, l, draws) = (30, 80, 10, 5000);
    let mut rng = HostRng::new(31);
    let scale: Vec<f64> = (0..d).map(|k| 0.3 + 2.0 * (k % 7) as f64 / 7.0).collect();
    let x: Vec<f64> = rng
        .normals(n * d)
        .iter()
        .enumerate()
        .map(|(i, v)| v * scale[i % d] + if i % d < 5 { 1.5 } else { 0.0 })
        .collect();
    let y: Vec<f64> = rng
        .normals(n * d)
        .iter()
        .enumerate()
        .map(|(i, v)| v * scale[(i + 3) % d] * 0.7 - 0.2)
        .collect();
    let xm = Measure::single(t2(x, n, d, &device, DType::F64));
    let ym = Measure::single(t2(y, n, d, &device, DType::F64));
    device.seed(33);
    for kind in [ControlVariate::Lower, ControlVariate::Upper] {
        let mut means = Vec::with_capacity(draws);
        let mut expectation = 0.0;
        for _ in 0..draws {
            let dirs = Directions::Shared(directions::sample_as(
                DirectionKind::Rqmc,
                l,
                d,
                &device,
                DType::F64,
            ));
            let (_, c, e) = control_variate_terms(&xm, &ym, &dirs, 2.0, kind);
            let c = to_vec(c);
            means.push(c.iter().sum::<f64>() / l as f64);
            expectation = to_vec(e)[0];
        }
        let k = draws as f64;
        let mean = means.iter().sum::<f64>() / k;
        let se = (means.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0) / k).sqrt();
        println!("{kind:?}: mean C {mean:.6} ± {se:.2e}, E[C] {expectation:.6}");
        assert!(
            se < 0.01 * expectation,
            "{kind:?}: too few draws to tell ({se} vs {expectation})"
        );
        assert!(
            (mean - expectation).abs() < 4.5 * se,
            "{kind:?}: mean C {mean} vs E[C] {expectation} ({:.2} SE)",
            (mean - expectation).abs() / se
        );
    }
}
