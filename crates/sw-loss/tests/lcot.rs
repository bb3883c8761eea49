//! Linear circular OT and linear SSW against POT 0.9.7 with its quantile lookup fixed
//! (`tests/data/lcot_pot.json`, written by `scripts/fixtures/lcot_pot.py` with given frames),
//! and their closed forms and properties.

mod common;

use burn::tensor::{DType, Device, Distribution, Tensor};
use common::*;
use serde_json::Value;
use sw_loss::lcot::{POT_GRID, embedding, lcot_sq};
use sw_loss::{Measure, SwError, sphere};

const F64: DType = DType::F64;

fn fixture() -> Value {
    let path = crate_dir().join("tests/data/lcot_pot.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn frames(v: &Value, device: &Device) -> Tensor<3> {
    let l = v.as_array().unwrap().len();
    let d = v[0].as_array().unwrap().len();
    let data: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| matrix(m).0)
        .collect();
    t2(data, l * d, 2, device, F64).reshape([l, d, 2])
}

fn row(v: Vec<f64>, device: &Device) -> Tensor<2> {
    let n = v.len();
    t2(v, 1, n, device, F64)
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * scale, "{what}[{i}]: {g} vs {w}");
    }
}

/// LCOT₂² on the circle, two samples and against the uniform measure, weighted and unequal
/// sizes, value and gradient in u.
#[test]
fn lcot_matches_pot_values_and_gradients() {
    let device = Device::flex().autodiff();
    for case in fixture()["lcot"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let u = row(vector(&case["u"]), &device).require_grad();
        let v = (!case["v"].is_null()).then(|| row(vector(&case["v"]), &device));
        let a = Some(row(vector(&case["a"]), &device));
        let b = (!case["b"].is_null()).then(|| row(vector(&case["b"]), &device));
        let value = lcot_sq(u.clone(), v, a, b, POT_GRID).unwrap();
        let got = scalar(value.clone());
        let want = case["value"].as_f64().unwrap();
        assert!(rel_err(got, want) < 1e-12, "{name}: {got} vs {want}");
        let grad = to_vec(u.grad(&value.backward()).unwrap());
        assert_close(&grad, &vector(&case["grad_u"]), 1e-12, name);
    }
}

/// LSSOT₂ on S² and S⁴ between samples (n ≠ m, weighted), and against the uniform measure:
/// per-frame LCOT₂², the value and its gradient in the source points.
#[test]
fn linear_ssw_matches_pot_values_and_gradients() {
    let device = Device::flex().autodiff();
    let fx = fixture();
    let cases = fx["lssot"]
        .as_array()
        .unwrap()
        .iter()
        .chain(fx["lssot_unif"].as_array().unwrap());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (xd, n, d) = matrix(&case["x"]);
        let x = t2(xd, n, d, &device, F64).require_grad();
        let xm = Measure::single(x.clone()).with_weights_1d(t1(vector(&case["a"]), &device, F64));
        let ym = case.get("y").map(|y| {
            let (yd, m, _) = matrix(y);
            Measure::single(t2(yd, m, d, &device, F64)).with_weights_1d(t1(
                vector(&case["b"]),
                &device,
                F64,
            ))
        });
        let f = frames(&case["frames"], &device);
        let value = sphere::linear_ssw_with_frames(&xm, ym.as_ref(), &f, POT_GRID).unwrap();
        let got = scalar(value.clone());
        let want = case["value"].as_f64().unwrap();
        assert!(rel_err(got, want) < 1e-12, "{name}: {got} vs {want}");
        let grad = to_vec(x.grad(&value.backward()).unwrap());
        assert_close(&grad, &matrix(&case["grad_x"]).0, 1e-10, name);
    }
}

/// One atom at a: the embedding is a − s (mod 1) at every grid point s, whatever the grid; two atoms a, c with weights w, 1 − w: the embedding picks a on the levels
/// q ≤ w and c above (independent of POT: the definition of F⁻¹).
#[test]
fn embedding_closed_forms() {
    let device = Device::flex();
    for (a, grid) in [(0.1, 100), (0.73, 7), (0.5, 1)] {
        let e = to_vec(embedding(row(vec![a], &device), None, grid).unwrap());
        // μ̂(s) = F⁻¹((s − a + ½) mod 1) − s = a − s (mod 1).
        let want: Vec<f64> = (0..grid)
            .map(|k| (a - k as f64 / grid as f64).rem_euclid(1.0))
            .collect();
        assert_close(&e, &want, 1e-12, "one atom");
    }
    let (a, c, w) = (0.2, 0.6, 0.3);
    let mean = w * a + (1.0 - w) * c;
    let grid = 50;
    let e = to_vec(
        embedding(
            row(vec![c, a], &device),
            Some(row(vec![1.0 - w, w], &device)),
            grid,
        )
        .unwrap(),
    );
    for (k, got) in e.iter().enumerate() {
        let s = k as f64 / grid as f64;
        let q = (s - mean + 0.5).rem_euclid(1.0);
        // q = w exactly at s = 0.28 (a tie in exact arithmetic: the lower atom).
        let atom = if q <= w + 1e-12 { a } else { c };
        let want = (atom - s).rem_euclid(1.0);
        assert!(
            (got - want).abs() < 1e-12,
            "two atoms, s = {s}: {got} vs {want}"
        );
    }
}

/// LCOT₂²(μ, μ) = 0, symmetry, rotation invariance on the circle (shifting both samples by the
/// same angle changes nothing: the embedding moves with the mean), the uniform grid {k/n} is at 0 from the uniform measure up to the
/// grid's resolution, and the same point twice equals weight 2 on it.
#[test]
fn lcot_properties() {
    let device = Device::flex();
    device.seed(11);
    let u = Tensor::<2>::random([4, 13], Distribution::Default, (&device, F64));
    let v = Tensor::<2>::random([4, 9], Distribution::Default, (&device, F64));
    let zero = to_vec(lcot_sq(u.clone(), Some(u.clone()), None, None, POT_GRID).unwrap());
    assert!(zero.iter().all(|z| z.abs() < 1e-15), "{zero:?}");
    let uv = to_vec(lcot_sq(u.clone(), Some(v.clone()), None, None, POT_GRID).unwrap());
    let vu = to_vec(lcot_sq(v.clone(), Some(u.clone()), None, None, POT_GRID).unwrap());
    assert_close(&uv, &vu, 1e-12, "symmetry");
    for shift in [0.25, 0.37, 0.01] {
        let rotated = to_vec(
            lcot_sq(
                u.clone().add_scalar(shift),
                Some(v.clone().add_scalar(shift)),
                None,
                None,
                POT_GRID,
            )
            .unwrap(),
        );
        assert_close(&rotated, &uv, 1e-12, "rotation");
    }
    let grid: Vec<f64> = (0..10).map(|k| k as f64 / 10.0).collect();
    let unif = scalar(lcot_sq(row(grid, &device), None, None, None, 1000).unwrap());
    // The embedding of {k/10} is a sawtooth within ±1/20 of 0: 0 < LCOT₂² ≤ 1/400.
    assert!(unif <= 1.0 / 400.0 && unif > 0.0, "{unif}");
    let doubled = row(vec![0.1, 0.4, 0.4, 0.8], &device);
    let weighted = lcot_sq(
        row(vec![0.1, 0.4, 0.8], &device),
        Some(row(vec![0.3], &device)),
        Some(row(vec![0.25, 0.5, 0.25], &device)),
        None,
        POT_GRID,
    )
    .unwrap();
    let plain = lcot_sq(doubled, Some(row(vec![0.3], &device)), None, None, POT_GRID).unwrap();
    assert!((scalar(weighted) - scalar(plain)).abs() < 1e-12);
}

/// LSSOT(x, x) = 0; a sample against itself rotated on the sphere by an orthogonal Q equals
/// the value with the frames rotated by Q (rotation equivariance); bad inputs are named errors.
#[test]
fn linear_ssw_properties_and_errors() {
    let device = Device::flex();
    device.seed(5);
    let x = sw_loss::directions::normalize_rows(Tensor::<2>::random(
        [30, 3],
        Distribution::Normal(0.0, 1.0),
        (&device, F64),
    ));
    let y = sw_loss::directions::normalize_rows(Tensor::<2>::random(
        [20, 3],
        Distribution::Normal(0.0, 1.0),
        (&device, F64),
    ));
    let f = sphere::stiefel_frames(6, 3, &device).unwrap().cast(F64);
    let (xm, ym) = (Measure::single(x.clone()), Measure::single(y.clone()));
    let same = scalar(sphere::linear_ssw_with_frames(&xm, Some(&xm), &f, POT_GRID).unwrap());
    assert!(same < 1e-7, "{same}");
    let value = scalar(sphere::linear_ssw_with_frames(&xm, Some(&ym), &f, POT_GRID).unwrap());
    let q = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [3, 3]),
        (&device, F64),
    ); // a cyclic permutation: orthogonal
    let rx = Measure::single(x.clone().matmul(q.clone().transpose()));
    let ry = Measure::single(y.clone().matmul(q.clone().transpose()));
    let rf = q.unsqueeze_dim::<3>(0).repeat_dim(0, 6).matmul(f.clone());
    let rotated = scalar(sphere::linear_ssw_with_frames(&rx, Some(&ry), &rf, POT_GRID).unwrap());
    assert!(rel_err(rotated, value) < 1e-12, "{rotated} vs {value}");
    let off = Measure::single(x.clone().mul_scalar(1.1));
    assert!(matches!(
        sphere::linear_ssw_with_frames(&off, Some(&ym), &f, POT_GRID),
        Err(SwError::OffSphere { what: "x", .. })
    ));
    let bad_frames = Tensor::<3>::zeros([6, 4, 2], (&device, F64));
    assert!(matches!(
        sphere::linear_ssw_with_frames(&xm, Some(&ym), &bad_frames, POT_GRID),
        Err(SwError::Shape { what: "frames", .. })
    ));
    assert!(matches!(
        sphere::linear_ssw_with_frames(&xm, None, &f, 0),
        Err(SwError::Shape { .. })
    ));
}
