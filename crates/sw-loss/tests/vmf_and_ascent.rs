//! vMF sampling (mean resultant length A_d(κ)), Max-SW and v-DSW ascent.

mod common;

/// Tests here draw from the shared device RNG after seeding it; run them one at a time so
/// the draws are reproducible.
static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

use burn::tensor::{DType, Device, Tensor, TensorData};
use common::*;
use sw_loss::directions::normalize_rows;
use sw_loss::vmf::{self, VdswOptions};
use sw_loss::{
    AscentOptions, BatchReduction, Directions, MaxSwOptions, Measure, max_sw, max_sw_direction,
    sw_with_directions,
};

/// A_d(κ) = I_{d/2}(κ) / I_{d/2−1}(κ) by the continued fraction
/// I_ν/I_{ν−1} = 1 / (2ν/κ + 1 / (2(ν+1)/κ + 1 / (2(ν+2)/κ + …))), evaluated bottom-up.
fn mean_resultant_length(d: usize, kappa: f64) -> f64 {
    let nu = d as f64 / 2.0;
    let mut tail = 0.0;
    for k in (0..2000).rev() {
        tail = 1.0 / (2.0 * (nu + k as f64) / kappa + tail);
    }
    tail
}

#[test]
fn bessel_ratio_reference_is_right_for_d3() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // d = 3: A₃(κ) = coth κ − 1/κ in closed form.
    for kappa in [1.0f64, 10.0, 100.0] {
        let closed = 1.0 / kappa.tanh() - 1.0 / kappa;
        assert!(rel_err(mean_resultant_length(3, kappa), closed) < 1e-12);
    }
}

#[test]
fn vmf_mean_resultant_length_matches_bessel_ratio() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(99);
    for d in [3usize, 10] {
        for kappa in [1.0, 10.0, 100.0] {
            let mut rng = HostRng::new(d as u64 * 1000 + kappa as u64);
            let mu = t2(rng.unit_rows(1, d), 1, d, &device, DType::F64);
            let samples = vmf::sample(mu.clone(), kappa, 100_000).unwrap(); // [1, N, d]
            let norms = to_vec(samples.clone().square().sum_dim(2).sqrt());
            assert!(
                norms.iter().all(|v| (v - 1.0).abs() < 1e-9),
                "samples are unit vectors"
            );
            let mean = samples.mean_dim(1).reshape([d]);
            let length = to_vec(mean.clone().square().sum()).first().unwrap().sqrt();
            let want = mean_resultant_length(d, kappa);
            assert!(
                rel_err(length, want) < 0.02,
                "d={d} κ={kappa}: {length} vs A_d = {want}"
            );
            // And it is centred on μ.
            let cos = scalar((mean.clone() * mu.clone().reshape([d])).sum()) / length;
            assert!(cos > 0.99, "d={d} κ={kappa}: mean direction cos {cos}");
        }
    }
}

#[test]
fn vmf_samples_are_differentiable_in_the_mean() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let mu = normalize_rows(Tensor::<2>::from_data(
        TensorData::new(vec![0.3f32, -0.2, 0.9], [1, 3]),
        &device,
    ))
    .require_grad();
    let target = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0], [3]), &device);
    let samples = vmf::sample(mu.clone(), 5.0, 64).unwrap();
    let score = (samples.mean_dim(1).reshape([3]) * target).sum();
    let g = to_vec(mu.grad(&score.backward()).expect("gradient reaches μ"));
    assert!(
        g.iter().all(|v| v.is_finite()) && g.iter().any(|v| v.abs() > 1e-4),
        "{g:?}"
    );
}

/// y = x + t for an isotropic x: W₂²(θ) ≈ (θᵀt)² is maximal at ±t/‖t‖.
fn shifted_pair(device: &Device) -> (Measure, Measure, [f64; 3]) {
    shifted_by(device, [2.0, -1.0, 0.5], 256)
}

/// y = x + t exactly (the same points moved): sorted θᵀy = sorted θᵀx + θᵀt, so
/// W₂²(θ♯x, θ♯y) = (θᵀt)² exactly and Max-SW₂ = ‖t‖. Returns (x, y, t/‖t‖).
fn shifted_by(device: &Device, t: [f64; 3], n: usize) -> (Measure, Measure, [f64; 3]) {
    let mut rng = HostRng::new(21);
    let x = rng.normals(n * 3);
    let y: Vec<f64> = x.iter().enumerate().map(|(i, v)| v + t[i % 3]).collect();
    let norm = (t.iter().map(|v| v * v).sum::<f64>()).sqrt();
    (
        Measure::single(Tensor::from_data(TensorData::new(x, [n, 3]), device)),
        Measure::single(Tensor::from_data(TensorData::new(y, [n, 3]), device)),
        [t[0] / norm, t[1] / norm, t[2] / norm],
    )
}

#[test]
fn max_sw_ascent_finds_the_shift_direction() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(5);
    let (x, y, t) = shifted_pair(&device);
    let options = MaxSwOptions {
        p: 2.0,
        ascent: AscentOptions::plain(30, 0.5),
        reduction: BatchReduction::Mean,
    };
    let theta = to_vec(max_sw_direction(&x, &y, &options).unwrap());
    let cos: f64 = (0..3).map(|i| theta[i] * t[i]).sum();
    assert!(cos.abs() > 0.99, "direction {theta:?} vs shift {t:?}");
    // The Max-SW value dominates SW with random directions and is differentiable in x.
    let device_ad = device.clone().autodiff();
    let xt = x
        .points()
        .clone()
        .reshape([256, 3])
        .autodiff()
        .require_grad();
    let xa = Measure::single(xt.clone());
    let ya = Measure::single(y.points().clone().reshape([256, 3]).autodiff());
    let value = max_sw(&xa, &ya, &options).unwrap();
    let dirs = Directions::Shared(sw_loss::directions::uniform(50, 3, &device_ad));
    let plain = scalar(sw_with_directions(&xa, &ya, &dirs, 2.0, BatchReduction::Mean).unwrap());
    assert!(
        scalar(value.clone()) > plain,
        "max-sw {} <= sw {plain}",
        scalar(value.clone())
    );
    let g = to_vec(
        xt.grad(&value.backward())
            .expect("max-sw is differentiable in x"),
    );
    assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| v.abs() > 0.0));
}

#[test]
fn one_ascent_step_raises_the_projected_distance() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(8);
    let (x, y, _) = shifted_pair(&device);
    let p0 = MaxSwOptions {
        ascent: AscentOptions::plain(0, 0.5),
        ..Default::default()
    };
    let p1 = MaxSwOptions {
        ascent: AscentOptions::plain(1, 0.5),
        ..Default::default()
    };
    device.seed(8);
    let before = scalar(max_sw(&x, &y, &p0).unwrap());
    device.seed(8);
    let after = scalar(max_sw(&x, &y, &p1).unwrap());
    assert!(after > before, "{after} <= {before}");
}

#[test]
fn v_dsw_mean_aligns_with_the_shift() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(13);
    let (x, y, t) = shifted_pair(&device);
    let options = VdswOptions {
        kappa: 10.0,
        projections: 20,
        p: 2.0,
        ascent: AscentOptions::plain(60, 0.02),
        reduction: BatchReduction::Mean,
    };
    let mu = to_vec(vmf::dsw_vmf_mean(&x, &y, &options).unwrap());
    let cos: f64 = (0..3).map(|i| mu[i] * t[i]).sum();
    assert!(cos.abs() > 0.98, "μ {mu:?} vs shift {t:?}");
    let value = scalar(vmf::dsw_vmf(&x, &y, &options).unwrap());
    assert!(value > 1.0 && value.is_finite());
}

fn norm(t: [f64; 3]) -> f64 {
    t.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Max-SW₂ of the shifted pair (computed in f32 on the default float type: agreement to
/// ~1e-6 relative is the precision of the sorted sums).
fn max_sw_value(t: [f64; 3], ascent: AscentOptions, seed: u64) -> f64 {
    let device = Device::flex();
    device.seed(seed);
    let (x, y, _) = shifted_by(&device, t, 128);
    let options = MaxSwOptions {
        ascent,
        ..Default::default()
    };
    scalar(max_sw(&x, &y, &options).unwrap())
}

#[test]
fn plain_ascent_reaches_max_sw_equal_to_the_norm_of_the_shift() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t = [2.0, -1.0, 0.5];
    for seed in [1, 2, 3] {
        let v = max_sw_value(t, AscentOptions::plain(60, 0.5), seed);
        assert!(
            rel_err(v, norm(t)) < 1e-6,
            "seed {seed}: {v} vs ‖t‖ = {}",
            norm(t)
        );
    }
}

#[test]
fn adam_ascent_run_to_convergence_gives_the_norm_of_the_shift() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // Equal |tᵢ|: the maximiser t/‖t‖ is the fixed point of projected Adam.
    let t = [1.5, -1.5, 1.5];
    for seed in [1, 2, 3] {
        let v = max_sw_value(t, AscentOptions::adam(600, 5e-2), seed);
        assert!(
            rel_err(v, norm(t)) < 1e-6,
            "seed {seed}: {v} vs ‖t‖ = {}",
            norm(t)
        );
    }
}

#[test]
fn projected_adam_stops_at_the_sign_vector_of_the_shift() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // ∇W₂² = 2(θᵀt)t ∥ t, so Adam's m̂/√v̂ = ±sign(t) and θ → sign(t)/√3:
    // Max-SW → ‖t‖₁/√3 = 3.5/√3, below ‖t‖ = 2.29 (what the official Adam ascent does).
    let t = [2.0, -1.0, 0.5];
    let want = 3.5 / 3f64.sqrt();
    for seed in [1, 2, 3] {
        let v = max_sw_value(t, AscentOptions::adam(600, 5e-2), seed);
        assert!(
            rel_err(v, want) < 1e-5,
            "seed {seed}: {v} vs ‖t‖₁/√3 = {want}"
        );
    }
    assert!(want < 0.9 * norm(t));
}

#[test]
fn official_default_ascent_is_fifty_adam_steps_of_1e4() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let d = AscentOptions::default();
    assert_eq!((d.steps, d.lr), (50, 1e-4));
    assert_eq!(d.optimizer, sw_loss::AscentOptimizer::Adam);
    // Each Adam step moves each coordinate by at most ≈ η (|m̂/√v̂| ≤ 1 for a constant
    // gradient), so 50 steps of 1e-4 turn θ by well under 0.01 rad: the official Max-SW
    // stays close to its random start. Compare the start (0 steps) with 50 steps, same seed.
    let device = Device::flex();
    let (x, y, _) = shifted_by(&device, [2.0, -1.0, 0.5], 128);
    let dir = |steps: usize| {
        device.seed(4);
        let o = MaxSwOptions {
            ascent: AscentOptions { steps, ..d },
            ..Default::default()
        };
        to_vec(max_sw_direction(&x, &y, &o).unwrap())
    };
    let (a, b) = (dir(0), dir(50));
    let cos: f64 = (0..3).map(|i| a[i] * b[i]).sum();
    let angle = cos.min(1.0).acos();
    assert!(
        angle > 1e-4 && angle < 50.0 * 1e-4 * 3f64.sqrt(),
        "turned {angle} rad"
    );
}

#[test]
fn v_dsw_with_adam_matches_the_vmf_second_moment() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // At ϑ = t/‖t‖ and θ ~ vMF(ϑ, κ) on S²: θᵀt = ‖t‖w, E[w²] = 1 − 2A₃(κ)/κ with
    // A₃(κ) = coth κ − 1/κ, so v-DSW₂ = ‖t‖ √(1 − 2A₃(κ)/κ).
    let device = Device::flex();
    device.seed(31);
    let t = [1.5, -1.5, 1.5];
    let (x, y, unit) = shifted_by(&device, t, 64);
    let kappa: f64 = 10.0;
    let options = VdswOptions {
        kappa,
        projections: 400,
        p: 2.0,
        ascent: AscentOptions::adam(200, 2e-2),
        reduction: BatchReduction::Mean,
    };
    let mu = to_vec(vmf::dsw_vmf_mean(&x, &y, &options).unwrap());
    let cos: f64 = (0..3).map(|i| mu[i] * unit[i]).sum();
    assert!(cos.abs() > 0.995, "μ {mu:?} vs shift {unit:?}");
    let a3 = 1.0 / kappa.tanh() - 1.0 / kappa;
    let want = norm(t) * (1.0 - 2.0 * a3 / kappa).sqrt();
    let value = scalar(vmf::dsw_vmf(&x, &y, &options).unwrap());
    assert!(rel_err(value, want) < 0.03, "v-DSW {value} vs {want}");
}

#[test]
fn v_dsw_parameter_errors_are_errors_not_panics() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let (x, y, _) = shifted_by(&device, [1.0, 0.0, 0.0], 16);
    let zero = VdswOptions {
        projections: 0,
        ..Default::default()
    };
    assert!(matches!(
        vmf::dsw_vmf(&x, &y, &zero),
        Err(sw_loss::SwError::NoProjections)
    ));
    let bad = VdswOptions {
        kappa: f64::NAN,
        ..Default::default()
    };
    let err = vmf::dsw_vmf(&x, &y, &bad).unwrap_err();
    assert!(err.to_string().contains("kappa"), "{err}");
}

/// `Householder::Official` (hsgser/Self-Amortized-DSW loss/von_mises_fisher.py): the gradient
/// in the raw mean equals central differences of the official formula in all three
/// coordinates, radial included, and has a radial part; `Householder::Unit` normalises μ
/// first, so its gradient is tangent (zero radial part). Both draw the same w and v from the
/// same seed, so their samples differ only by the 1e-5 of the official û = u/(‖u‖ + 1e-5).
#[test]
fn official_householder_differentiates_the_raw_mean() {
    use sw_loss::vmf::Householder;
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let mu0 = [0.48f64, -0.6, 0.64]; // unit norm
    let c = Tensor::<3>::from_data(
        TensorData::new(vec![0.7f64, -1.3, 0.4], [1, 1, 3]),
        (&device, DType::F64),
    );
    let score = |mu: [f64; 3], form: Householder, grad: bool| {
        device.seed(17);
        let mu =
            Tensor::<2>::from_data(TensorData::new(mu.to_vec(), [1, 3]), (&device, DType::F64));
        let mu = if grad { mu.require_grad() } else { mu };
        let samples = vmf::sample_with(mu.clone(), 2.0, 32, form).unwrap(); // [1, 32, 3]
        let s = (samples * c.clone()).sum();
        (mu, s)
    };
    let h = 1e-6;
    for form in [Householder::Official, Householder::Unit] {
        let (mu, s) = score(mu0, form, true);
        let g = to_vec(mu.grad(&s.backward()).unwrap());
        let fd: Vec<f64> = (0..3)
            .map(|k| {
                let (mut up, mut down) = (mu0, mu0);
                up[k] += h;
                down[k] -= h;
                (scalar(score(up, form, false).1.reshape([1]))
                    - scalar(score(down, form, false).1.reshape([1])))
                    / (2.0 * h)
            })
            .collect();
        for k in 0..3 {
            assert!(
                (g[k] - fd[k]).abs() < 1e-6 * (1.0 + fd[k].abs()),
                "{form:?}: ∂/∂μ_{k} autodiff {} vs central difference {}",
                g[k],
                fd[k]
            );
        }
        let radial: f64 = (0..3).map(|k| g[k] * mu0[k]).sum();
        match form {
            Householder::Official => assert!(radial.abs() > 1e-2, "radial part {radial}"),
            Householder::Unit => assert!(radial.abs() < 1e-9, "radial part {radial}"),
        }
    }
    let draw = |form| {
        device.seed(23);
        let mu =
            Tensor::<2>::from_data(TensorData::new(mu0.to_vec(), [1, 3]), (&device, DType::F64));
        to_vec(vmf::sample_with(mu, 2.0, 64, form).unwrap())
    };
    let (official, unit) = (draw(Householder::Official), draw(Householder::Unit));
    let gap = official
        .iter()
        .zip(&unit)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap > 0.0 && gap < 1e-4, "largest difference {gap}");
}
