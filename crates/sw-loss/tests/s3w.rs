//! S3W and RI-S3W against a PyTorch twin of the official code (mint-vu/s3wd;
//! `tests/data/s3w_twin.json`, written by `scripts/fixtures/s3w_twin.py` with given directions
//! and rotations; the twin matches the official functions to 1e-12), and their properties.

mod common;

use burn::tensor::{DType, Device, Distribution, Tensor};
use common::*;
use serde_json::Value;
use sw_loss::{
    BatchReduction, Directions, EstimatorKind, LossConfig, Measure, SlicedWassersteinConfig,
    SwError, SwValue, s3w,
};

const F64: DType = DType::F64;

fn cases() -> Vec<Value> {
    let path = crate_dir().join("tests/data/s3w_twin.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn points(v: &Value, device: &Device) -> Tensor<2> {
    let (data, n, d) = matrix(v);
    t2(data, n, d, device, F64)
}

fn rotations(v: &Value, device: &Device) -> Tensor<3> {
    let r = v.as_array().unwrap().len();
    let k = v[0].as_array().unwrap().len();
    let data: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| matrix(m).0)
        .collect();
    t2(data, r * k, k, device, F64).reshape([r, k, k])
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * scale, "{what}[{i}]: {g} vs {w}");
    }
}

fn config(kind: EstimatorKind, p: f64) -> LossConfig {
    LossConfig {
        kind,
        p,
        power: true,
        reduction: BatchReduction::Mean,
        ..LossConfig::default()
    }
}

/// The cap, the stereographic projection and h₁, point by point (the pole case has points
/// 5e-4 from the north pole, capped, and 5e-5 from the south pole, h₁'s floor).
#[test]
fn features_match_the_twin() {
    let device = Device::flex();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        for (side, stereo, feat) in [
            ("x", "stereo_x", "features_x"),
            ("y", "stereo_y", "features_y"),
        ] {
            let p = points(&case[side], &device);
            let [n, e] = p.dims();
            let p3 = p.reshape([1, n, e]);
            let s = s3w::stereographic(&s3w::cap(&p3));
            // 1/(1 − x_{d+1}) ~ 1e6 at the capped points: 1e-11 of the largest (~1e3).
            assert_close(&to_vec(s.clone()), &matrix(&case[stereo]).0, 1e-11, name);
            let f = s3w::h1(&s);
            assert_close(&to_vec(f), &matrix(&case[feat]).0, 1e-12, name);
        }
    }
}

/// S3W_p^p (mean form) through the checked loss with the twin's directions: value and the
/// gradients in both samples; n ≠ m, p = 1 and 2, S² and S⁴. The official sum form is n × it.
#[test]
fn s3w_matches_the_twin_values_and_gradients() {
    let device = Device::flex().autodiff();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let p = case["p"].as_f64().unwrap();
        let x = points(&case["x"], &device).require_grad();
        let y = points(&case["y"], &device).require_grad();
        let (dd, l, d) = matrix(&case["directions"]);
        let dirs = Directions::Shared(t2(dd, l, d, &device, F64));
        let value = config(EstimatorKind::S3w, p)
            .forward_with_directions(
                &Measure::single(x.clone()),
                &Measure::single(y.clone()),
                &dirs,
            )
            .unwrap();
        let want = &case["s3w"];
        let got = scalar(value.clone());
        assert!(
            rel_err(got, want["value"].as_f64().unwrap()) < 1e-12,
            "{name}: {got}"
        );
        if let Some(sum) = want["official_sum"].as_object() {
            let n = x.dims()[0] as f64;
            assert!(rel_err(n * got, sum["value"].as_f64().unwrap()) < 1e-12);
        }
        let grads = value.backward();
        // Near the pole ds/dx ~ 1e12 cancels inside h₁: 1e-9 of the largest entry.
        let gx = to_vec(x.grad(&grads).unwrap());
        assert_close(&gx, &matrix(&want["grad_x"]).0, 1e-9, name);
        let gy = to_vec(y.grad(&grads).unwrap());
        assert_close(&gy, &matrix(&want["grad_y"]).0, 1e-9, name);
    }
}

/// RI-S3W on the twin's rotations (x ↦ R_k x, the same directions for every rotation): the
/// mean over rotations of S3W_p^p, value and gradients.
#[test]
fn ri_s3w_matches_the_twin_on_given_rotations() {
    let device = Device::flex().autodiff();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let p = case["p"].as_f64().unwrap();
        let x = points(&case["x"], &device).require_grad();
        let y = points(&case["y"], &device).require_grad();
        let rot = rotations(&case["rotations"], &device);
        let r = rot.dims()[0];
        let (dd, l, d) = matrix(&case["directions"]);
        let dirs = Directions::Shared(t2(dd, l, d, &device, F64));
        let fx = s3w::features(&s3w::rotated(&Measure::single(x.clone()), &rot), "x").unwrap();
        let fy = s3w::features(&s3w::rotated(&Measure::single(y.clone()), &rot), "y").unwrap();
        let per_rotation =
            sw_loss::sw_pp_with_directions(&fx, &fy, &dirs, p, BatchReduction::PerPair).unwrap();
        assert_eq!(per_rotation.dims(), [r]);
        let value = per_rotation.mean();
        let want = &case["ri_s3w"];
        let got = scalar(value.clone());
        assert!(
            rel_err(got, want["value"].as_f64().unwrap()) < 1e-12,
            "{name}: {got}"
        );
        let grads = value.backward();
        let gx = to_vec(x.grad(&grads).unwrap());
        assert_close(&gx, &matrix(&want["grad_x"]).0, 1e-9, name);
        let gy = to_vec(y.grad(&grads).unwrap());
        assert_close(&gy, &matrix(&want["grad_y"]).0, 1e-9, name);
    }
}

/// The ri-s3w kind draws R rotations from the device RNG and averages S3W over them: equal to
/// the same computation on `haar_rotations` drawn after the same `device.seed`.
#[test]
fn ri_s3w_kind_averages_s3w_over_its_rotations() {
    let device = Device::flex();
    let case = &cases()[0];
    let x = Measure::single(points(&case["x"], &device));
    let y = Measure::single(points(&case["y"], &device));
    let (dd, l, d) = matrix(&case["directions"]);
    let dirs = Directions::Shared(t2(dd, l, d, &device, F64));
    let r = 4;
    let ri = LossConfig {
        s3w_rotations: r,
        ..config(EstimatorKind::RiS3w, 2.0)
    };
    device.seed(31);
    let got = scalar(ri.forward_with_directions(&x, &y, &dirs).unwrap());
    device.seed(31);
    let rot = s3w::haar_rotations(r, 3, None, &device, F64);
    let fx = s3w::features(&s3w::rotated(&x, &rot), "x").unwrap();
    let fy = s3w::features(&s3w::rotated(&y, &rot), "y").unwrap();
    let want =
        scalar(sw_loss::sw_pp_with_directions(&fx, &fy, &dirs, 2.0, BatchReduction::Mean).unwrap());
    assert!(rel_err(got, want) < 1e-12, "{got} vs {want}");
    // A seeded loss draws the same rotations (and directions) on every call.
    let seeded = SlicedWassersteinConfig::new(SwValue::Power)
        .with_estimator(EstimatorKind::RiS3w)
        .with_s3w_rotations(3)
        .with_projections(20)
        .with_seed(Some(5))
        .init()
        .unwrap();
    let a = scalar(seeded.forward_measures(&x, &y).unwrap());
    let b = scalar(seeded.forward_measures(&x, &y).unwrap());
    assert_eq!(a, b);
}

/// Haar rotations: orthogonal, det = +1 (SO(3), the closed-form determinant), and E[R e₁] = 0
/// (the first column's mean over 4000 draws within 5 standard errors, each coordinate has
/// variance 1/3).
#[test]
fn haar_rotations_are_special_orthogonal_and_centred() {
    let device = Device::flex();
    let r = 4000;
    let rot = s3w::haar_rotations(r, 3, Some(9), &device, F64);
    let m = to_vec(rot.clone());
    let mut mean = [0.0; 3];
    for k in 0..r {
        let a = &m[k * 9..k * 9 + 9];
        let det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6])
            + a[2] * (a[3] * a[7] - a[4] * a[6]);
        assert!((det - 1.0).abs() < 1e-12, "det {det}");
        for i in 0..3 {
            for j in 0..3 {
                let dot: f64 = (0..3).map(|t| a[t * 3 + i] * a[t * 3 + j]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (dot - want).abs() < 1e-12,
                    "rotation {k}: column {i}·{j} = {dot}"
                );
            }
            mean[i] += a[i * 3] / r as f64;
        }
    }
    let se = (1.0f64 / 3.0 / r as f64).sqrt();
    assert!(mean.iter().all(|m| m.abs() < 5.0 * se), "{mean:?}");
}

/// S3W(x, x) = 0, symmetry, a measure at the north pole is finite (the cap), and points off
/// the sphere or a zero rotation count are named errors.
#[test]
fn s3w_properties_and_errors() {
    let device = Device::flex();
    device.seed(3);
    let sample = |n: usize| {
        sw_loss::directions::normalize_rows(Tensor::<3>::random(
            [2, n, 4],
            Distribution::Normal(0.0, 1.0),
            (&device, F64),
        ))
    };
    let (x, y) = (Measure::new(sample(12)), Measure::new(sample(9)));
    let dirs = Directions::Shared(sw_loss::directions::normalize_rows(Tensor::<2>::random(
        [16, 3],
        Distribution::Normal(0.0, 1.0),
        (&device, F64),
    )));
    let c = config(EstimatorKind::S3w, 2.0);
    let same = scalar(c.forward_with_directions(&x, &x, &dirs).unwrap());
    assert!(same.abs() < 1e-15, "{same}");
    let xy = scalar(c.forward_with_directions(&x, &y, &dirs).unwrap());
    let yx = scalar(c.forward_with_directions(&y, &x, &dirs).unwrap());
    assert!(rel_err(xy, yx) < 1e-12);
    let pole =
        Tensor::<3>::from_floats([[[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]]], &device).cast(F64);
    let f = to_vec(
        s3w::features(&Measure::new(pole), "x")
            .unwrap()
            .points()
            .clone(),
    );
    assert!(f.iter().all(|v| v.is_finite()), "{f:?}");
    // The pole lands on the rim of the ball: ‖h₁‖ = arccos(−1 + 1e-6)/π.
    let rim = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
    assert!(
        (rim - (-1.0f64 + 1e-6).acos() / std::f64::consts::PI).abs() < 1e-9,
        "{rim}"
    );
    let off = Measure::new(sample(5).mul_scalar(1.2));
    assert!(matches!(
        c.forward_with_directions(&off, &off, &dirs),
        Err(SwError::OffSphere { what: "x", .. })
    ));
    let zero = LossConfig {
        s3w_rotations: 0,
        ..config(EstimatorKind::RiS3w, 2.0)
    };
    assert!(matches!(
        zero.forward(&x, &y),
        Err(SwError::InvalidParameter {
            name: "s3w_rotations",
            ..
        })
    ));
}
