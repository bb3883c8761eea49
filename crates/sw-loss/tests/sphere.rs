//! SSW to the uniform measure against POT 0.9.7 (`tests/data/sphere_pot.json`, written by
//! `scripts/fixtures/sphere_pot.py` with given frames), and its properties.

mod common;

use burn::tensor::{DType, Device, Distribution, Tensor};
use common::*;
use serde_json::Value;
use sw_loss::{Measure, SwError, sphere};

const F64: DType = DType::F64;

fn fixture() -> Value {
    let path = crate_dir().join("tests/data/sphere_pot.json");
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

/// The closed form on the circle, POT's docstring case included (0.0211111).
#[test]
fn semidiscrete_w2_matches_pot() {
    let device = Device::flex();
    for case in fixture()["semidiscrete"].as_array().unwrap() {
        let u = vector(&case["u"]);
        let n = u.len();
        let got = scalar(sphere::semidiscrete_w2sq_unif_circle(
            t2(u, 1, n, &device, F64),
            None,
        ));
        let want = case["w2sq"].as_f64().unwrap();
        assert!(
            rel_err(got, want) < 1e-12,
            "{}: {got} vs {want}",
            case["name"]
        );
    }
}

/// SSW₂ to the uniform measure on POT's frames: circle coordinates, per-frame W₂², value and
/// gradient in the points.
#[test]
fn ssw_unif_matches_pot_values_and_gradients() {
    let device = Device::flex().autodiff();
    for case in fixture()["ssw_unif"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (xd, n, d) = matrix(&case["x"]);
        let x = t2(xd, n, d, &device, F64).require_grad();
        let f = frames(&case["frames"], &device);
        let coords = sphere::circle_coordinates(&x.clone().reshape([1, n, d]), &f);
        let want: Vec<f64> = case["coords"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(vector)
            .collect();
        let got = to_vec(coords.clone());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{name}: coordinate {g} vs {w}");
        }
        let l = f.dims()[0];
        let per_frame = to_vec(sphere::semidiscrete_w2sq_unif_circle(
            coords.reshape([l, n]),
            None,
        ));
        for (g, w) in per_frame.iter().zip(vector(&case["per_frame_w2sq"])) {
            assert!(rel_err(*g, w) < 1e-11, "{name}: per frame {g} vs {w}");
        }
        let v = sphere::ssw_unif_with_frames(&Measure::single(x.clone()), &f).unwrap();
        let value = scalar(v.clone());
        assert!(
            rel_err(value, case["value"].as_f64().unwrap()) < 1e-12,
            "{name}: {value}"
        );
        let g = to_vec(x.grad(&v.backward()).unwrap());
        let want = matrix(&case["grad_x"]).0;
        let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(&want) {
            assert!((a - b).abs() < 1e-9 * scale, "{name}: gradient {a} vs {b}");
        }
    }
}

/// Weights travel with their points (POT pairs sorted coordinates with unsorted weights, right
/// only for uniform weights): weight 2/(n+1) on one point equals that point listed twice.
#[test]
fn weights_travel_with_their_points() {
    let device = Device::flex();
    device.seed(4);
    let x = sw_loss::directions::normalize_rows(Tensor::<2>::random(
        [7, 3],
        Distribution::Normal(0.0, 1.0),
        (&device, F64),
    ));
    let f = sphere::stiefel_frames(5, 3, &device).unwrap().cast(F64);
    let doubled = Tensor::cat(vec![x.clone(), x.clone().slice([3..4, 0..3])], 0);
    let plain = scalar(sphere::ssw_unif_with_frames(&Measure::single(doubled), &f).unwrap());
    let mut w = vec![1.0 / 8.0; 7];
    w[3] = 2.0 / 8.0;
    let weighted = Measure::single(x).with_weights_1d(t1(w, &device, F64));
    let v = scalar(sphere::ssw_unif_with_frames(&weighted, &f).unwrap());
    assert!(rel_err(v, plain) < 1e-12, "{v} vs {plain}");
}

/// Evenly spaced points on a great circle of every frame are at the grid's distance; a large
/// uniform sample is near 0; frames are orthonormal; bad inputs are named errors.
#[test]
fn ssw_unif_properties_and_errors() {
    let device = Device::flex();
    device.seed(8);
    let f = sphere::stiefel_frames(64, 4, &device).unwrap();
    let gram = f.clone().swap_dims(1, 2).matmul(f.clone()); // [L, 2, 2]
    let eye = Tensor::<3>::from_floats([[[1.0, 0.0], [0.0, 1.0]]], &device).repeat_dim(0, 64);
    assert!(to_vec((gram - eye).abs().max()).iter().all(|v| *v < 1e-5));
    let sample = sw_loss::directions::normalize_rows(Tensor::<2>::random(
        [4000, 4],
        Distribution::Normal(0.0, 1.0),
        &device,
    ));
    let near = scalar(sphere::ssw_unif(&Measure::single(sample.clone()), 64).unwrap());
    // A sample of n uniform points: W₂² to the uniform is O(1/n) per circle.
    assert!(near < 0.02, "uniform sample: SSW₂ {near}");
    let cap = sample
        .clone()
        .slice([0..4000, 0..1])
        .abs()
        .neg()
        .add_scalar(1.0); // not unit
    let off = Tensor::cat(vec![sample.clone().slice([0..4000, 0..3]), cap], 1);
    match sphere::ssw_unif(&Measure::single(off), 8) {
        Err(SwError::OffSphere {
            what: "x",
            batch: 0,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let wrong = Tensor::<3>::zeros([3, 3, 2], &device);
    assert!(matches!(
        sphere::ssw_unif_with_frames(&Measure::single(sample), &wrong),
        Err(SwError::Shape { what: "frames", .. })
    ));
    assert!(matches!(
        sphere::stiefel_frames(0, 3, &device),
        Err(SwError::NoProjections)
    ));
}

/// W_p on the circle against `ot.wasserstein_circle` (unequal sizes, weights, p = 1, 1.5, 2):
/// POT stops its search at a 1e-6 bracket, so 1e-6 relative.
#[test]
fn circle_wpp_matches_pot() {
    let device = Device::flex();
    for case in fixture()["circle"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (u, v) = (vector(&case["u"]), vector(&case["v"]));
        let (a, b) = (vector(&case["a"]), vector(&case["b"]));
        let (n, m) = (u.len(), v.len());
        let got = scalar(
            sw_loss::circle::circle_wpp(
                t2(u, 1, n, &device, F64),
                t2(v, 1, m, &device, F64),
                Some(t2(a, 1, n, &device, F64)),
                Some(t2(b, 1, m, &device, F64)),
                case["p"].as_f64().unwrap(),
            )
            .unwrap(),
        );
        let want = case["wpp"].as_f64().unwrap();
        assert!(rel_err(got, want) < 1e-6, "{name}: {got} vs {want}");
    }
}

/// Circle W_p properties: rotation invariance (both samples turned by the same angle, across
/// 0), symmetry, W(μ, μ) = 0, and the gradient equals central differences of the value.
#[test]
fn circle_wpp_properties_and_gradient() {
    let device = Device::flex();
    let u = vec![0.05, 0.31, 0.62, 0.9, 0.47];
    let v = vec![0.15, 0.58, 0.97, 0.74];
    let w = |u: &[f64], v: &[f64]| {
        scalar(
            sw_loss::circle::circle_wpp(
                t2(u.to_vec(), 1, u.len(), &device, F64),
                t2(v.to_vec(), 1, v.len(), &device, F64),
                None,
                None,
                2.0,
            )
            .unwrap(),
        )
    };
    let base = w(&u, &v);
    let turned = |s: &[f64]| s.iter().map(|x| (x + 0.37) % 1.0).collect::<Vec<f64>>();
    assert!(rel_err(w(&turned(&u), &turned(&v)), base) < 1e-9);
    assert!(rel_err(w(&v, &u), base) < 1e-9);
    assert!(w(&u, &u).abs() < 1e-15);
    // The gradient in u: autodiff against central differences.
    let ad = Device::flex().autodiff();
    let ut = t2(u.clone(), 1, 5, &ad, F64).require_grad();
    let value =
        sw_loss::circle::circle_wpp(ut.clone(), t2(v.clone(), 1, 4, &ad, F64), None, None, 2.0)
            .unwrap();
    let g = to_vec(ut.grad(&value.backward()).unwrap());
    for i in 0..5 {
        let h = 1e-6;
        let (mut up, mut dn) = (u.clone(), u.clone());
        up[i] += h;
        dn[i] -= h;
        let fd = (w(&up, &v) - w(&dn, &v)) / (2.0 * h);
        assert!((g[i] - fd).abs() < 1e-6, "∂/∂u_{i}: {} vs {fd}", g[i]);
    }
}

/// SSW₂ between two samples on POT's frames: per-frame W₂², value and the gradient in the
/// source points (POT's gradient is taken at its θ within 1e-6, hence 1e-5).
#[test]
fn ssw_matches_pot_values_and_gradients() {
    let device = Device::flex().autodiff();
    for case in fixture()["ssw"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (xd, n, d) = matrix(&case["x"]);
        let (yd, m, _) = matrix(&case["y"]);
        let x = t2(xd, n, d, &device, F64).require_grad();
        let y = t2(yd, m, d, &device, F64);
        let f = frames(&case["frames"], &device);
        let v = sphere::ssw_with_frames(&Measure::single(x.clone()), &Measure::single(y), &f, 2.0)
            .unwrap();
        let value = scalar(v.clone());
        assert!(
            rel_err(value, case["value"].as_f64().unwrap()) < 1e-6,
            "{name}: {value}"
        );
        let g = to_vec(x.grad(&v.backward()).unwrap());
        let want = matrix(&case["grad_x"]).0;
        let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5 * scale, "{name}: gradient {a} vs {b}");
        }
    }
    // SSW(X, X) = 0 and symmetry on random frames.
    let plain = Device::flex();
    plain.seed(2);
    let x = sw_loss::directions::normalize_rows(Tensor::<3>::random(
        [2, 9, 3],
        Distribution::Normal(0.0, 1.0),
        (&plain, F64),
    ));
    let y = sw_loss::directions::normalize_rows(Tensor::<3>::random(
        [2, 6, 3],
        Distribution::Normal(0.5, 1.0),
        (&plain, F64),
    ));
    let (xm, ym) = (Measure::new(x), Measure::new(y));
    let f = sphere::stiefel_frames(7, 3, &plain).unwrap().cast(F64);
    assert!(
        to_vec(sphere::ssw_with_frames(&xm, &xm, &f, 2.0).unwrap())
            .iter()
            .all(|v| *v < 1e-7)
    );
    let a = to_vec(sphere::ssw_with_frames(&xm, &ym, &f, 2.0).unwrap());
    let b = to_vec(sphere::ssw_with_frames(&ym, &xm, &f, 2.0).unwrap());
    for (p, q) in a.iter().zip(&b) {
        assert!(rel_err(*p, *q) < 1e-9);
    }
}

/// The `ssw` kind of the checked loss: on given frames (as 2L rows) it is SSW_p^p of
/// [`sphere::ssw_with_frames`]; its sampled frames are orthonormal pairs for every sampler
/// (uniform, orthogonal, rqmc); per-pair frame sets give a value per pair; points off the sphere
/// are named errors.
#[test]
fn ssw_kind_of_the_checked_loss() {
    use sw_loss::{
        DirectionKind, DirectionSets, Directions, EstimatorKind, LossConfig,
        SlicedWassersteinConfig, SwValue,
    };
    let device = Device::flex();
    device.seed(12);
    let sample = |b: usize, n: usize| {
        sw_loss::directions::normalize_rows(Tensor::<3>::random(
            [b, n, 3],
            Distribution::Normal(0.0, 1.0),
            (&device, F64),
        ))
    };
    let (x, y) = (Measure::new(sample(1, 11)), Measure::new(sample(1, 7)));
    let f = sphere::stiefel_frames(5, 3, &device).unwrap().cast(F64);
    let want = sphere::ssw_with_frames(&x, &y, &f, 1.5).unwrap();
    let config = LossConfig {
        kind: EstimatorKind::Ssw,
        p: 1.5,
        ..LossConfig::default()
    };
    let rows = Directions::Shared(sphere::frames_as_directions(&f));
    let got = config.forward_with_directions(&x, &y, &rows).unwrap();
    assert!(rel_err(scalar(got), scalar(want)) < 1e-12);
    for kind in [
        DirectionKind::Uniform,
        DirectionKind::Orthogonal,
        DirectionKind::Rqmc,
    ] {
        let dirs = sw_loss::directions::sample_sets(
            kind,
            DirectionSets::PerPair,
            [2, 8, 3],
            Some(4),
            &device,
            F64,
        );
        let frames = to_vec(match sphere::pair_frames(&dirs) {
            Directions::PerPair(t) => t,
            Directions::Shared(_) => unreachable!(),
        });
        for pair in frames.chunks(6) {
            let (a, b) = pair.split_at(3);
            let dot: f64 = a.iter().zip(b).map(|(u, v)| u * v).sum();
            let na: f64 = a.iter().map(|u| u * u).sum();
            let nb: f64 = b.iter().map(|u| u * u).sum();
            assert!(dot.abs() < 1e-12 && (na - 1.0).abs() < 1e-12 && (nb - 1.0).abs() < 1e-12);
        }
    }
    let loss = SlicedWassersteinConfig::new(SwValue::Distance)
        .with_estimator(EstimatorKind::Ssw)
        .with_projections(16)
        .with_direction_sets(DirectionSets::PerPair)
        .with_reduction(sw_loss::BatchReduction::PerPair)
        .with_seed(Some(3))
        .init()
        .unwrap();
    let (xb, yb) = (Measure::new(sample(3, 10)), Measure::new(sample(3, 6)));
    let per_pair = to_vec(loss.forward_measures(&xb, &yb).unwrap());
    assert_eq!(per_pair.len(), 3);
    assert!(
        per_pair.iter().all(|v| v.is_finite() && *v > 0.0),
        "{per_pair:?}"
    );
    let off = Measure::new(sample(1, 5).mul_scalar(0.5));
    assert!(matches!(
        loss.forward_measures(&off, &y),
        Err(SwError::OffSphere { what: "x", .. })
    ));
}
