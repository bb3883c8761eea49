//! EBSW, GSW (polynomial and circular) and RPSW against PyTorch twins of the official code
//! (`tests/data/sliced_variants.json`, written by `scripts/fixtures/sliced_variants.py` with
//! given directions, so the values are exact), and the properties they share with SW.

mod common;

use burn::tensor::{DType, Device, Tensor};
use common::*;
use serde_json::Value;
use sw_loss::{
    BatchReduction, Directions, EstimatorKind, LossConfig, Measure, SwError, ebsw, gsw, rpsw,
};

const F64: DType = DType::F64;

fn fixture() -> Value {
    let path = crate_dir().join("tests/data/sliced_variants.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}

fn cases(name: &str) -> Vec<Value> {
    fixture()[name].as_array().expect(name).clone()
}

/// An autodiff `[1, n, d]` measure with gradient, and its data shape.
fn leaf(v: &Value, device: &Device) -> (Tensor<2>, usize, usize) {
    let (data, n, d) = matrix(v);
    (t2(data, n, d, device, F64).require_grad(), n, d)
}

fn config(kind: EstimatorKind, p: f64) -> LossConfig {
    LossConfig {
        kind,
        p,
        reduction: BatchReduction::Mean,
        ..LossConfig::default()
    }
}

/// Value and gradients (x, y) of `cfg` on the case's points with the given directions.
fn evaluate(
    cfg: &LossConfig,
    case: &Value,
    theta_key: &str,
    device: &Device,
) -> (f64, Vec<f64>, Vec<f64>) {
    let (x, _, _) = leaf(&case["x"], device);
    let (y, _, _) = leaf(&case["y"], device);
    let (th, l, k) = matrix(&case[theta_key]);
    let dirs = Directions::Shared(t2(th, l, k, device, F64));
    let value = cfg
        .forward_with_directions(
            &Measure::single(x.clone()),
            &Measure::single(y.clone()),
            &dirs,
        )
        .unwrap();
    let grads = value.clone().backward();
    (
        scalar(value),
        to_vec(x.grad(&grads).unwrap()),
        to_vec(y.grad(&grads).unwrap()),
    )
}

/// Sums of `g` (`[n, d]` flattened) over each tie group (a group of equal points has no
/// unique gradient split: only its sum is defined); other rows as they are.
fn grouped(g: &[f64], d: usize, groups: &Value) -> Vec<f64> {
    let groups: Vec<Vec<usize>> = groups
        .as_array()
        .map(|a| {
            a.iter()
                .map(|grp| {
                    grp.as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i.as_u64().unwrap() as usize)
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let n = g.len() / d;
    let mut out = Vec::new();
    let in_group = |i: usize| groups.iter().any(|grp| grp.contains(&i));
    for i in (0..n).filter(|&i| !in_group(i)) {
        out.extend_from_slice(&g[i * d..(i + 1) * d]);
    }
    for grp in &groups {
        for k in 0..d {
            out.push(grp.iter().map(|&i| g[i * d + k]).sum());
        }
    }
    out
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: got {g}, want {w} (tol {tol} × {scale})"
        );
    }
}

fn flat(v: &Value) -> Vec<f64> {
    matrix(v).0
}

/// EBSW (IS-EBSW-e, weights differentiated): value and gradients of the paper's mean form,
/// the energy weights, and — through n·W — the official sum form (n = m cases).
#[test]
fn ebsw_matches_the_official_twin() {
    let device = Device::flex().autodiff();
    for case in cases("ebsw") {
        let name = case["name"].as_str().unwrap();
        let p = case["p"].as_f64().unwrap();
        let (value, gx, gy) = evaluate(&config(EstimatorKind::Ebsw, p), &case, "theta", &device);
        assert!(
            rel_err(value, case["value"].as_f64().unwrap()) < 1e-12,
            "{name}: {value}"
        );
        let d = matrix(&case["x"]).2;
        assert_close(
            &format!("{name} grad x"),
            &grouped(&gx, d, &case["x_tie_groups"]),
            &grouped(&flat(&case["grad_x"]), d, &case["x_tie_groups"]),
            1e-10,
        );
        assert_close(
            &format!("{name} grad y"),
            &grouped(&gy, d, &case["y_tie_groups"]),
            &grouped(&flat(&case["grad_y"]), d, &case["y_tie_groups"]),
            1e-10,
        );
        // The weights and the official sum form, from the per-direction W_p^p.
        let plain = Device::flex();
        let (xd, n, _) = matrix(&case["x"]);
        let (yd, m, _) = matrix(&case["y"]);
        let (th, l, _) = matrix(&case["theta"]);
        let w = sw_loss::projected_wpp(
            &Measure::single(t2(xd, n, d, &plain, F64)),
            &Measure::single(t2(yd, m, d, &plain, F64)),
            &Directions::Shared(t2(th, l, d, &plain, F64)),
            p,
        )
        .unwrap();
        assert_close(
            &format!("{name} W"),
            &to_vec(w.clone()),
            &vector(&case["projected_wpp"]),
            1e-12,
        );
        assert_close(
            &format!("{name} weights"),
            &to_vec(ebsw::energy_weights(w.clone())),
            &vector(&case["weights"]),
            1e-12,
        );
        if let Some(official) = case["official_sum"].as_object() {
            let sum_form = scalar(ebsw::energy_weighted(w.mul_scalar(n as f64)));
            let want = official["value_pow"].as_f64().unwrap();
            assert!(
                rel_err(sum_form, want) < 1e-12,
                "{name}: {sum_form} vs {want}"
            );
        }
    }
}

/// Chunked EBSW (a budget that forces one direction at a time) gives the unchunked value and
/// gradients: the two-pass vector–Jacobian product through softmax is exact.
#[test]
fn ebsw_chunked_equals_unchunked() {
    let device = Device::flex().autodiff();
    let case = &cases("ebsw")[1];
    let whole = evaluate(&config(EstimatorKind::Ebsw, 2.0), case, "theta", &device);
    let (_, n, d) = matrix(&case["x"]);
    let m = matrix(&case["y"]).1;
    // The smallest budget that fits: one direction per chunk, or a few.
    let tight = (1..200)
        .map(|k| LossConfig {
            projections: 5,
            memory_budget: 64 * k,
            ..config(EstimatorKind::Ebsw, 2.0)
        })
        .find(|c| c.plan_memory(1, n, m, d, F64).is_ok())
        .unwrap();
    let plan = tight.plan_memory(1, n, m, d, F64).unwrap();
    assert!(plan.is_chunked() && plan.chunk < 5, "{plan:?}");
    let chunked = evaluate(&tight, case, "theta", &device);
    assert!(
        rel_err(chunked.0, whole.0) < 1e-13,
        "{} vs {}",
        chunked.0,
        whole.0
    );
    assert_close("chunked grad x", &chunked.1, &whole.1, 1e-12);
    assert_close("chunked grad y", &chunked.2, &whole.2, 1e-12);
}

/// GSW-poly3: the official monomial order and features, and the value and gradients (ours is
/// the official √(Σ_l Σ_i Δ²) divided by √(n·L)).
#[test]
fn gsw_poly3_matches_the_official_twin() {
    let device = Device::flex().autodiff();
    for case in cases("gsw_poly3") {
        let name = case["name"].as_str().unwrap();
        let (x0, n, d) = matrix(&case["x"]);
        let powers: Vec<Vec<u32>> = case["powers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect()
            })
            .collect();
        assert_eq!(gsw::poly_powers(d, 3), powers, "{name}: monomial order");
        assert_eq!(gsw::poly_feature_count(d, 3), powers.len());
        let features = gsw::poly_features(
            t2(x0[..d].to_vec(), 1, d, &Device::flex(), F64).reshape([1, 1, d]),
            3,
        );
        assert_close(
            &format!("{name} φ(x0)"),
            &to_vec(features),
            &vector(&case["features_x0"]),
            1e-13,
        );
        let l = matrix(&case["theta"]).1;
        let scale = ((n * l) as f64).sqrt();
        let (value, gx, gy) = evaluate(
            &config(EstimatorKind::GswPoly3, 2.0),
            &case,
            "theta",
            &device,
        );
        let official = case["value"].as_f64().unwrap();
        assert!(rel_err(value * scale, official) < 1e-12, "{name}: {value}");
        assert!(rel_err(value, case["value_mean"].as_f64().unwrap()) < 1e-12);
        let gx: Vec<f64> = gx.iter().map(|g| g * scale).collect();
        let gy: Vec<f64> = gy.iter().map(|g| g * scale).collect();
        assert_close(
            &format!("{name} grad x"),
            &gx,
            &flat(&case["grad_x"]),
            1e-10,
        );
        assert_close(
            &format!("{name} grad y"),
            &gy,
            &flat(&case["grad_y"]),
            1e-10,
        );
    }
}

/// GSW-circular: g(x, θ) = ‖x − rθ‖ with the fixture's r, value and gradients.
#[test]
fn gsw_circular_matches_the_official_twin() {
    let device = Device::flex().autodiff();
    for case in cases("gsw_circular") {
        let name = case["name"].as_str().unwrap();
        let n = matrix(&case["x"]).1;
        let l = matrix(&case["theta"]).1;
        let cfg = LossConfig {
            gsw_radius: case["r"].as_f64().unwrap(),
            ..config(EstimatorKind::GswCircular, 2.0)
        };
        let scale = ((n * l) as f64).sqrt();
        let (value, gx, gy) = evaluate(&cfg, &case, "theta", &device);
        assert!(
            rel_err(value * scale, case["value"].as_f64().unwrap()) < 1e-12,
            "{name}: {value}"
        );
        let gx: Vec<f64> = gx.iter().map(|g| g * scale).collect();
        let gy: Vec<f64> = gy.iter().map(|g| g * scale).collect();
        assert_close(
            &format!("{name} grad x"),
            &gx,
            &flat(&case["grad_x"]),
            1e-10,
        );
        assert_close(
            &format!("{name} grad y"),
            &gy,
            &flat(&case["grad_y"]),
            1e-10,
        );
        // A different radius is a different distance.
        let other = LossConfig {
            gsw_radius: 0.5,
            ..cfg.clone()
        };
        let (v2, _, _) = evaluate(&other, &case, "theta", &device);
        assert!(rel_err(v2, value) > 1e-3);
    }
}

/// RPSW: the path directions of given pairs, then the value and gradients with them (mean
/// form; the official gradient-flow sum form is √n × it at p = 2).
#[test]
fn rpsw_matches_the_official_twin() {
    let device = Device::flex().autodiff();
    for case in cases("rpsw") {
        let name = case["name"].as_str().unwrap();
        let (xd, n, d) = matrix(&case["x"]);
        let (yd, m, _) = matrix(&case["y"]);
        let pairs: Vec<(usize, usize)> = case["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let p = p.as_array().unwrap();
                (
                    p[0].as_u64().unwrap() as usize,
                    p[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        let plain = Device::flex();
        let theta = rpsw::path_directions(
            &Measure::single(t2(xd, n, d, &plain, F64)),
            &Measure::single(t2(yd, m, d, &plain, F64)),
            &pairs,
        );
        assert_close(
            &format!("{name} directions"),
            &to_vec(theta),
            &flat(&case["theta"]),
            1e-14,
        );
        // RPSW with its directions is SW with those directions.
        let (value, gx, gy) = evaluate(&config(EstimatorKind::Rpsw, 2.0), &case, "theta", &device);
        assert!(
            rel_err(value, case["value"].as_f64().unwrap()) < 1e-12,
            "{name}"
        );
        assert_close(
            &format!("{name} grad x"),
            &gx,
            &flat(&case["grad_x"]),
            1e-10,
        );
        assert_close(
            &format!("{name} grad y"),
            &gy,
            &flat(&case["grad_y"]),
            1e-10,
        );
        let official = case["official_sum"]["value"].as_f64().unwrap();
        assert!(rel_err(value * (n as f64).sqrt(), official) < 1e-12);
    }
}

/// The power-spherical sampler: unit samples whose cosine to the mean has the closed-form
/// mean κ/(κ + d − 1) and variance (fixture `power_spherical_moments`, from the Beta law).
/// N = 20 000 draws around random means; the tolerance is 5 standard errors.
#[test]
fn power_spherical_cosines_have_the_closed_form_moments() {
    let device = Device::flex();
    device.seed(11);
    let count = 20_000;
    for case in cases("power_spherical_moments") {
        let d = case["d"].as_u64().unwrap() as usize;
        let kappa = case["kappa"].as_f64().unwrap();
        let mean = case["mean_cos"].as_f64().unwrap();
        let var = case["var_cos"].as_f64().unwrap();
        assert!((mean - kappa / (kappa + d as f64 - 1.0)).abs() < 1e-12);
        let mu = sw_loss::directions::normalize_rows(Tensor::<2>::random(
            [count, d],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            (&device, F64),
        ));
        let theta = rpsw::power_spherical(mu.clone(), kappa).unwrap();
        let norms = to_vec(theta.clone().square().sum_dim(1));
        assert!(norms.iter().all(|v| (v - 1.0).abs() < 1e-10), "d {d}: unit");
        let cos = to_vec((theta * mu).sum_dim(1));
        let got = cos.iter().sum::<f64>() / count as f64;
        let got_var = cos.iter().map(|c| (c - got).powi(2)).sum::<f64>() / (count - 1) as f64;
        let se = (var / count as f64).sqrt();
        assert!(
            (got - mean).abs() < 5.0 * se,
            "d {d} κ {kappa}: mean cos {got} vs {mean} (se {se})"
        );
        // The variance within 10 % (its standard error is below 3 % here).
        assert!(
            (got_var - var).abs() < 0.1 * var,
            "d {d} κ {kappa}: var {got_var} vs {var}"
        );
    }
}

/// RPSW directions from data: unit, per pair, and at large κ each lies on (nearly) one of the
/// normalised differences x_i − y_j.
#[test]
fn rpsw_directions_follow_the_paths() {
    let device = Device::flex();
    device.seed(3);
    let x = Tensor::<3>::random(
        [2, 6, 3],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let y = Tensor::<3>::random(
        [2, 5, 3],
        burn::tensor::Distribution::Normal(2.0, 1.0),
        &device,
    );
    let (xm, ym) = (Measure::new(x.clone()), Measure::new(y.clone()));
    let theta = rpsw::directions(&xm, &ym, 7, 1e6).unwrap();
    assert_eq!(theta.dims(), [2, 7, 3]);
    let (xs, ys, th) = (to_vec(x), to_vec(y), to_vec(theta));
    for b in 0..2 {
        for l in 0..7 {
            let t = &th[(b * 7 + l) * 3..(b * 7 + l + 1) * 3];
            assert!((t.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-5);
            let mut best = -1.0f64;
            for i in 0..6 {
                for j in 0..5 {
                    let diff: Vec<f64> = (0..3)
                        .map(|k| xs[(b * 6 + i) * 3 + k] - ys[(b * 5 + j) * 3 + k])
                        .collect();
                    let norm = diff.iter().map(|v| v * v).sum::<f64>().sqrt();
                    let cos = diff.iter().zip(t).map(|(a, b)| a * b).sum::<f64>() / norm;
                    best = best.max(cos);
                }
            }
            assert!(best > 0.999, "pair {b} direction {l}: best cos {best}");
        }
    }
    assert!(matches!(
        rpsw::directions(&xm, &ym, 0, 1.0),
        Err(SwError::NoProjections)
    ));
}

/// Every new kind through the config: d(X, X) = 0, symmetry with shared directions, finite
/// values and gradients on random data (equal and unequal sizes, weights), and at d = 1 with
/// one direction EBSW and RPSW equal the exact 1-D W_p.
#[test]
fn new_kinds_share_the_distance_properties() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let normal = burn::tensor::Distribution::Normal(0.0, 1.0);
    let x = Tensor::<3>::random([2, 9, 3], normal, (&device, F64));
    let y = Tensor::<3>::random([2, 7, 3], normal, (&device, F64)).add_scalar(0.5);
    let wy = Tensor::<2>::random(
        [2, 7],
        burn::tensor::Distribution::Uniform(0.5, 1.5),
        (&device, F64),
    );
    for kind in [
        EstimatorKind::Ebsw,
        EstimatorKind::Rpsw,
        EstimatorKind::GswPoly3,
        EstimatorKind::GswCircular,
    ] {
        let cfg = LossConfig {
            projections: 16,
            reduction: BatchReduction::PerPair,
            ..config(kind, 2.0)
        };
        let xm = Measure::new(x.clone());
        let self_distance = to_vec(cfg.forward(&xm, &xm).unwrap());
        assert!(
            self_distance.iter().all(|v| v.abs() < 1e-7),
            "{kind}: {self_distance:?}"
        );
        let yw = Measure::new(y.clone().require_grad()).with_weights(wy.clone());
        let v = cfg.forward(&xm, &yw).unwrap();
        let values = to_vec(v.clone());
        assert!(
            values.iter().all(|v| v.is_finite() && *v > 0.1),
            "{kind}: {values:?}"
        );
        let g = v.sum().backward();
        let gy = to_vec(yw.points().grad(&g).unwrap());
        assert!(gy.iter().all(|v| v.is_finite()) && gy.iter().any(|v| v.abs() > 1e-6));
        if kind != EstimatorKind::Rpsw {
            // Symmetric on shared directions.
            let k = cfg.sliced_dimension(3);
            let dirs = Directions::Shared(sw_loss::directions::uniform(16, k, &device).cast(F64));
            let ym = Measure::new(y.clone());
            let a = to_vec(cfg.forward_with_directions(&xm, &ym, &dirs).unwrap());
            let b = to_vec(cfg.forward_with_directions(&ym, &xm, &dirs).unwrap());
            assert_close(&format!("{kind} symmetry"), &a, &b, 1e-12);
        }
    }
    // d = 1: one direction ±1 gives the exact 1-D W_2 (sorted, equal sizes).
    let x1: Vec<f64> = vec![0.3, -1.2, 2.0, 0.7];
    let y1: Vec<f64> = vec![1.1, 0.0, -0.4, 3.0];
    let (mut xs, mut ys) = (x1.clone(), y1.clone());
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    let exact = (xs
        .iter()
        .zip(&ys)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / 4.0)
        .sqrt();
    let plain = Device::flex();
    for kind in [EstimatorKind::Ebsw, EstimatorKind::Rpsw] {
        let cfg = LossConfig {
            projections: 1,
            ..config(kind, 2.0)
        };
        let xm = Measure::single(t2(x1.clone(), 4, 1, &plain, F64));
        let ym = Measure::single(t2(y1.clone(), 4, 1, &plain, F64));
        let v = scalar(cfg.forward(&xm, &ym).unwrap());
        assert!(rel_err(v, exact) < 1e-12, "{kind}: {v} vs {exact}");
    }
}

/// Bad parameters name their field; gsw-poly3 directions must live in the lifted dimension.
#[test]
fn new_kinds_reject_bad_parameters() {
    let field = |cfg: LossConfig| match cfg.validate() {
        Err(SwError::InvalidParameter { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    let circ = config(EstimatorKind::GswCircular, 2.0);
    assert_eq!(
        field(LossConfig {
            gsw_radius: 0.0,
            ..circ.clone()
        }),
        "gsw_radius"
    );
    assert_eq!(
        field(LossConfig {
            gsw_radius: f64::NAN,
            ..circ
        }),
        "gsw_radius"
    );
    let rp = config(EstimatorKind::Rpsw, 2.0);
    assert_eq!(
        field(LossConfig {
            rpsw_kappa: -1.0,
            ..rp
        }),
        "rpsw_kappa"
    );
    let device = Device::flex();
    let x = Measure::new(Tensor::<3>::zeros([1, 4, 3], &device));
    let poly = config(EstimatorKind::GswPoly3, 2.0);
    assert_eq!(poly.sliced_dimension(3), 10);
    let wrong = Directions::Shared(Tensor::<2>::ones([5, 3], &device));
    assert!(matches!(
        poly.forward_with_directions(&x, &x, &wrong),
        Err(SwError::Shape { .. })
    ));
    for kind in EstimatorKind::ALL {
        let parsed: LossConfig = toml::from_str(&format!("kind = \"{kind}\"")).unwrap();
        assert_eq!(parsed.kind, kind);
    }
}

/// max-GSW with the linear defining function from the fixture's start: the official Adam
/// ascent (30 steps, lr 1e-2, torch defaults) reaches the same θ and value (√n·W₂ at it).
#[test]
fn max_gsw_linear_ascent_matches_the_official_twin() {
    let device = Device::flex();
    let case = cases("max_gsw")
        .into_iter()
        .find(|c| c["defining"] == "linear")
        .unwrap();
    let (xd, n, d) = matrix(&case["x"]);
    let (yd, m, _) = matrix(&case["y"]);
    let x = Measure::single(t2(xd, n, d, &device, F64));
    let y = Measure::single(t2(yd, m, d, &device, F64));
    let start = t2(vector(&case["theta_start"]), 1, d, &device, F64).reshape([1, 1, d]);
    let options = sw_loss::MaxSwOptions {
        p: 2.0,
        ascent: sw_loss::AscentOptions::adam(
            case["iterations"].as_u64().unwrap() as usize,
            case["lr"].as_f64().unwrap(),
        ),
        reduction: BatchReduction::Mean,
    };
    let theta =
        gsw::max_gsw_direction(&x, &y, sw_loss::Slicing::Linear, Some(start), &options).unwrap();
    assert_close(
        "θ final",
        &to_vec(theta.clone()),
        &vector(&case["theta_final"]),
        1e-6,
    );
    let w = sw_loss::projected_wpp(&x, &y, &Directions::PerPair(theta), 2.0).unwrap();
    let value = (scalar(w.reshape([1])) * n as f64).sqrt();
    assert!(
        rel_err(value, case["value"].as_f64().unwrap()) < 1e-6,
        "{value}"
    );
}

/// The max-gsw kind (circular, radius r): its value is GSW at the direction its ascent found,
/// and that direction beats the average circular slice.
#[test]
fn max_gsw_kind_ascends_the_circular_slices() {
    let device = Device::flex().autodiff();
    device.seed(9);
    let normal = burn::tensor::Distribution::Normal(0.0, 1.0);
    let x = Measure::new(Tensor::<3>::random([1, 40, 3], normal, (&device, F64)));
    let y = Measure::new(
        Tensor::<3>::random([1, 40, 3], normal, (&device, F64))
            .mul_scalar(1.5)
            .add_scalar(0.7),
    );
    let cfg = LossConfig {
        ascent_steps: 100,
        ascent_lr: 0.05,
        ..config(EstimatorKind::MaxGsw, 2.0)
    };
    let best = scalar(cfg.forward(&x, &y).unwrap());
    let average = LossConfig {
        projections: 256,
        power: true,
        ..config(EstimatorKind::GswCircular, 2.0)
    };
    let mean_pp = scalar(average.forward(&x, &y).unwrap());
    assert!(best * best > 1.5 * mean_pp, "max {best}² vs mean {mean_pp}");
    assert_eq!(cfg.plan_memory(1, 40, 40, 3, F64).unwrap().chunk, 1);
}
