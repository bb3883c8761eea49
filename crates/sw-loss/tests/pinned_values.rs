//! Every public estimator and every option pinned to a value computed independently on the
//! host (f64 loops in `common::host`, closed forms, finite differences): the random-direction
//! entry points (`sw`, `lcv_sw`, `ucv_sw` and their `_pp` forms, `LossConfig::forward`) are
//! replayed with the same seeded directions; `detach_gamma`, `check_finite`, `power`,
//! `reduction` and `directions` are each shown to do what they say; f16/bf16 inputs give an
//! error naming the dtype.

mod common;

/// Tests here seed the shared device RNG; run them one at a time so the draws replay.
static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

use burn::tensor::{DType, Device, Tensor, TensorData};
use common::*;
use sw_loss::directions::{self, DirectionKind};
use sw_loss::{
    BatchReduction, EstimatorKind, Gamma, LossConfig, Measure, SlicedOptions, SwError, lcv_sw,
    lcv_sw_pp, sw, sw_pp, ucv_sw, ucv_sw_pp,
};

fn lock() -> std::sync::MutexGuard<'static, ()> {
    RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Two different host clouds `[n, d]`: Gaussian and a shifted, stretched Gaussian.
fn clouds(n: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = HostRng::new(seed);
    let x = rng.normals(n * d);
    let y = rng
        .normals(n * d)
        .iter()
        .enumerate()
        .map(|(i, v)| v * (0.5 + (i % d) as f64 * 0.4) + 0.3 * (i % d) as f64 - 0.2)
        .collect();
    (x, y)
}

/// The directions `LossConfig`/`sw`/… draw after `device.seed(seed)`, as host f64.
fn replay(seed: u64, kind: DirectionKind, l: usize, d: usize, device: &Device) -> Vec<f64> {
    device.seed(seed);
    to_vec(directions::sample_as(kind, l, d, device, DType::F64))
}

#[test]
fn public_random_direction_estimators_equal_the_host_formulas() {
    let _g = lock();
    let device = Device::flex();
    let (n, d, l, p) = (40, 3, 12, 2.0);
    let (x, y) = clouds(n, d, 1);
    let xm = Measure::single(t2(x.clone(), n, d, &device, DType::F64));
    let ym = Measure::single(t2(y.clone(), n, d, &device, DType::F64));
    for kind in [
        DirectionKind::Uniform,
        DirectionKind::Orthogonal,
        DirectionKind::Rqmc,
        DirectionKind::Halton,
    ] {
        let opts = SlicedOptions::new(l, p).with_directions(kind);
        let th = replay(5, kind, l, d, &device);
        let want_sw = host::sw_pp(&x, &y, d, &th, p);
        let want_lcv = host::cv_sw_pp(&x, &y, d, &th, p, false);
        let want_ucv = host::cv_sw_pp(&x, &y, d, &th, p, true);
        if kind == DirectionKind::Orthogonal {
            // An orthonormal block sums (θᵀv)² to ‖v‖² and θᵀΣθ to tr Σ: with d | L the
            // control variates equal their expectations and LCV = UCV = SW exactly.
            assert!(rel_err(want_lcv, want_sw) < 1e-12 && rel_err(want_ucv, want_sw) < 1e-12);
        } else if kind == DirectionKind::Uniform {
            // The three estimates differ: a dispatch that mixed them up would be caught. (The
            // lattices integrate the quadratic control variates almost exactly, so there the
            // corrections are small.)
            assert!((want_sw - want_lcv).abs() > 1e-3 && (want_lcv - want_ucv).abs() > 1e-3);
        }
        #[allow(clippy::type_complexity)]
        let cases: [(&str, f64, Box<dyn Fn() -> Tensor<1>>); 6] = [
            (
                "sw_pp",
                want_sw,
                Box::new(|| sw_pp(&xm, &ym, &opts).unwrap()),
            ),
            (
                "sw",
                want_sw.sqrt(),
                Box::new(|| sw(&xm, &ym, &opts).unwrap()),
            ),
            (
                "lcv_sw_pp",
                want_lcv,
                Box::new(|| lcv_sw_pp(&xm, &ym, &opts, Gamma::Fitted).unwrap()),
            ),
            (
                "lcv_sw",
                want_lcv.sqrt(),
                Box::new(|| lcv_sw(&xm, &ym, &opts, Gamma::Fitted).unwrap()),
            ),
            (
                "ucv_sw_pp",
                want_ucv,
                Box::new(|| ucv_sw_pp(&xm, &ym, &opts, Gamma::Detached).unwrap()),
            ),
            (
                "ucv_sw",
                want_ucv.sqrt(),
                Box::new(|| ucv_sw(&xm, &ym, &opts, Gamma::Detached).unwrap()),
            ),
        ];
        for (name, want, f) in cases {
            device.seed(5);
            let got = scalar(f());
            assert!(
                rel_err(got, want) < 1e-12,
                "{name} with {kind:?} directions: {got} vs host {want}"
            );
        }
    }
}

#[test]
fn loss_config_dispatch_power_and_reduction_pin_values() {
    let _g = lock();
    let device = Device::flex();
    let (b, n, d, l) = (2, 30, 4, 8);
    let (x0, y0) = clouds(n, d, 2);
    let (x1, y1) = clouds(n, d, 3);
    let batch = |a: &[f64], c: &[f64]| {
        Measure::new(Tensor::<3>::from_data(
            TensorData::new([a, c].concat(), [b, n, d]),
            (&device, DType::F64),
        ))
    };
    let (xm, ym) = (batch(&x0, &x1), batch(&y0, &y1));
    for (kind, directions) in [
        ("sw", "uniform"),
        ("lcv-sw", "orthogonal"),
        ("ucv-sw", "rqmc"),
        ("sw", "halton"),
        ("ucv-sw", "uniform"),
    ] {
        for p in [2.0, 1.0] {
            let text = format!(
                "kind = \"{kind}\"\nprojections = {l}\np = {p}\ndirections = \"{directions}\"\nreduction = \"none\"\n"
            );
            let config: LossConfig = toml::from_str(&text).unwrap();
            let th = replay(9, config.directions, l, d, &device);
            let host_pp = |x: &[f64], y: &[f64]| match kind {
                "sw" => host::sw_pp(x, y, d, &th, p),
                "lcv-sw" => host::cv_sw_pp(x, y, d, &th, p, false),
                _ => host::cv_sw_pp(x, y, d, &th, p, true),
            };
            let pp = [host_pp(&x0, &y0), host_pp(&x1, &y1)];
            let root = pp.map(|v| v.powf(1.0 / p));
            device.seed(9);
            let got = to_vec(config.forward(&xm, &ym).unwrap());
            for k in 0..b {
                assert!(
                    rel_err(got[k], root[k]) < 1e-12,
                    "{kind}/{directions} p={p} pair {k}: {} vs host {}",
                    got[k],
                    root[k]
                );
            }
            for (reduction, power, want) in [
                ("mean", false, (root[0] + root[1]) / 2.0),
                ("sum", false, root[0] + root[1]),
                ("mean", true, (pp[0] + pp[1]) / 2.0),
                ("sum", true, pp[0] + pp[1]),
            ] {
                let config: LossConfig = toml::from_str(&format!(
                    "kind = \"{kind}\"\nprojections = {l}\np = {p}\ndirections = \"{directions}\"\nreduction = \"{reduction}\"\npower = {power}\n"
                ))
                .unwrap();
                device.seed(9);
                let got = scalar(config.forward(&xm, &ym).unwrap());
                assert!(
                    rel_err(got, want) < 1e-12,
                    "{kind}/{directions} p={p} {reduction} power={power}: {got} vs {want}"
                );
            }
        }
    }
}

/// y = x + t: every direction gives W₂² = (θᵀt)², and an orthonormal block of d rows sums
/// (θᵀt)² to ‖t‖², so orthogonal directions with L = k·d give SW₂ = ‖t‖/√d exactly, while
/// uniform directions only do so on average.
#[test]
fn orthogonal_blocks_are_orthonormal_and_exact_on_translations() {
    let _g = lock();
    let device = Device::flex();
    device.seed(3);
    for (l, d) in [(10usize, 4usize), (7, 7), (5, 9), (12, 3)] {
        let th = to_vec(directions::orthogonal(l, d, &device));
        for start in (0..l).step_by(d) {
            let end = (start + d).min(l);
            for i in start..end {
                for j in start..end {
                    let dot: f64 = (0..d).map(|k| th[i * d + k] * th[j * d + k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (dot - want).abs() < 1e-6,
                        "L={l} d={d}: ⟨θ_{i}, θ_{j}⟩ = {dot}"
                    );
                }
            }
        }
    }
    let (n, d) = (50, 3);
    let mut rng = HostRng::new(4);
    let x = rng.normals(n * d);
    let t = [0.6, -1.2, 0.9];
    let y: Vec<f64> = x.iter().enumerate().map(|(i, v)| v + t[i % d]).collect();
    let exact = (t.iter().map(|v| v * v).sum::<f64>() / d as f64).sqrt();
    let xm = Measure::single(t2(x, n, d, &device, DType::F64));
    let ym = Measure::single(t2(y, n, d, &device, DType::F64));
    let run = |directions: &str| {
        let config: LossConfig = toml::from_str(&format!(
            "kind = \"sw\"\nprojections = 6\ndirections = \"{directions}\"\n"
        ))
        .unwrap();
        device.seed(21);
        scalar(config.forward(&xm, &ym).unwrap())
    };
    let orthogonal = run("orthogonal");
    assert!(
        (orthogonal - exact).abs() < 1e-12,
        "orthogonal: {orthogonal} vs ‖t‖/√d = {exact}"
    );
    let uniform = run("uniform");
    assert!(
        (uniform - exact).abs() > 1e-3,
        "uniform directions are not exact: {uniform} vs {exact}"
    );
}

/// `detach_gamma = true` keeps the value and changes the gradient to that of
/// W̄ − γ₀(C̄ − E[C]) with γ₀ frozen; checked against central differences of the host formula.
#[test]
fn detach_gamma_gradient_is_that_of_a_frozen_gamma() {
    let _g = lock();
    let device = Device::flex().autodiff();
    let (n, d, l) = (14, 3, 9);
    let (x, y) = clouds(n, d, 6);
    let mut rng = HostRng::new(8);
    let th = rng.unit_rows(l, d);
    let dirs = sw_loss::Directions::Shared(t2(th.clone(), l, d, &device, DType::F64));
    let ym = Measure::single(t2(y.clone(), n, d, &device, DType::F64));
    for (kind, upper) in [(EstimatorKind::LcvSw, false), (EstimatorKind::UcvSw, true)] {
        let mut grads = Vec::new();
        for detach in [false, true] {
            let config = LossConfig {
                projections: l,
                power: true,
                detach_gamma: detach,
                ..LossConfig::new(kind)
            };
            let xt = t2(x.clone(), n, d, &device, DType::F64).require_grad();
            let v = config
                .forward_with_directions(&Measure::single(xt.clone()), &ym, &dirs)
                .unwrap();
            let value = scalar(v.clone());
            let want = host::cv_sw_pp(&x, &y, d, &th, 2.0, upper);
            assert!(
                rel_err(value, want) < 1e-12,
                "{kind} value {value} vs {want}"
            );
            grads.push(to_vec(xt.grad(&v.backward()).unwrap()));
        }
        let (w, c, e) = host::cv_terms(&x, &y, d, &th, 2.0, upper);
        let gamma0 = host::gamma(&w, &c, e);
        let h = 1e-6;
        let mut differs = 0f64;
        for i in 0..n * d {
            let at = |delta: f64, frozen: bool| {
                let mut xs = x.clone();
                xs[i] += delta;
                let (w, c, e) = host::cv_terms(&xs, &y, d, &th, 2.0, upper);
                host::cv_estimate(&w, &c, e, frozen.then_some(gamma0))
            };
            for (k, frozen) in [(0, false), (1, true)] {
                let fd = (at(h, frozen) - at(-h, frozen)) / (2.0 * h);
                assert!(
                    (fd - grads[k][i]).abs() <= 1e-6 * fd.abs().max(1e-2),
                    "{kind} detach={frozen} coordinate {i}: autodiff {} vs FD {fd}",
                    grads[k][i]
                );
            }
            differs = differs.max((grads[0][i] - grads[1][i]).abs());
        }
        assert!(
            differs > 1e-4,
            "{kind}: detaching γ must change the gradient"
        );
    }
}

#[test]
fn check_finite_false_skips_the_check_and_keeps_the_value() {
    let _g = lock();
    let device = Device::flex();
    let (n, d) = (20, 3);
    let (x, y) = clouds(n, d, 10);
    let ym = Measure::single(t2(y, n, d, &device, DType::F64));
    for kind in [
        EstimatorKind::Sw,
        EstimatorKind::LcvSw,
        EstimatorKind::UcvSw,
    ] {
        let checked = LossConfig {
            projections: 5,
            ..LossConfig::new(kind)
        };
        let unchecked = LossConfig {
            check_finite: false,
            ..checked.clone()
        };
        let xm = Measure::single(t2(x.clone(), n, d, &device, DType::F64));
        device.seed(1);
        let a = scalar(checked.forward(&xm, &ym).unwrap());
        device.seed(1);
        let b = scalar(unchecked.forward(&xm, &ym).unwrap());
        assert_eq!(a, b, "{kind}: the check does not change the value");
        let mut bad = x.clone();
        bad[4] = f64::NAN;
        let bad = Measure::single(t2(bad, n, d, &device, DType::F64));
        assert_eq!(
            checked.forward(&bad, &ym).unwrap_err(),
            // entry 4 of a row-major [20, 3] cloud is point 1
            SwError::NonFinitePoint {
                what: "x",
                batch: 0,
                point: 1
            }
        );
        let v = scalar(unchecked.forward(&bad, &ym).unwrap());
        assert!(v.is_nan(), "{kind} unchecked: NaN passes through, got {v}");
    }
}

#[test]
fn half_precision_and_mixed_dtypes_are_errors_naming_the_dtype() {
    let _g = lock();
    let device = Device::flex();
    let (n, d) = (16, 3);
    let (x, y) = clouds(n, d, 12);
    let opts = SlicedOptions::new(4, 2.0);
    for dtype in [DType::F16, DType::BF16] {
        let xm = Measure::single(t2(x.clone(), n, d, &device, dtype));
        let ym = Measure::single(t2(y.clone(), n, d, &device, dtype));
        for result in [
            sw(&xm, &ym, &opts),
            lcv_sw(&xm, &ym, &opts, Gamma::Fitted),
            ucv_sw(&xm, &ym, &opts, Gamma::Fitted),
            LossConfig::default().forward(&xm, &ym),
        ] {
            let err = result.unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, SwError::DType { what: "x", .. })
                    && text.contains(&format!("{dtype:?}"))
                    && text.contains("f32"),
                "{text}"
            );
        }
    }
    let x64 = Measure::single(t2(x.clone(), n, d, &device, DType::F64));
    let y32 = Measure::single(t2(y.clone(), n, d, &device, DType::F32));
    let err = sw(&x64, &y32, &opts).unwrap_err();
    assert!(
        matches!(err, SwError::DType { what: "y", .. }) && err.to_string().contains("F64"),
        "{err}"
    );
    let dirs32 = sw_loss::Directions::Shared(directions::uniform(4, d, &device));
    let y64 = Measure::single(t2(y, n, d, &device, DType::F64));
    let err =
        sw_loss::sw_with_directions(&x64, &y64, &dirs32, 2.0, BatchReduction::Mean).unwrap_err();
    assert!(
        matches!(
            err,
            SwError::DType {
                what: "directions",
                ..
            }
        ),
        "{err}"
    );
}
