//! The SA-DSW evaluation metrics against their references: the approximate EMD against an
//! independent numpy port of the CUDA kernel and against the exact EMD (POT), and the linear
//! SVM against scikit-learn's `LinearSVC()` (fixtures: scripts/fixtures/approx_match.py,
//! scripts/fixtures/linear_svc.py).

use models::evaluation::{DEFAULT_C, LinearSvc, approx_match};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/data")
    .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    floats(v).into_iter().map(|x| x as f32).collect()
}

fn labels(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn approx_match_equals_the_numpy_port_of_the_cuda_kernel() {
    for case in fixture("approx_match.json")["cases"].as_array().unwrap() {
        let (a, b) = (f32s(&case["a"]), f32s(&case["b"]));
        let got = approx_match(&a, &b).unwrap();
        let (want, mass) = (
            case["approx_cost"].as_f64().unwrap(),
            case["matched_mass"].as_f64().unwrap(),
        );
        assert!(
            (got.cost - want).abs() <= 1e-9 * want,
            "{}: {} vs {want}",
            case["n"],
            got.cost
        );
        assert!((got.matched_mass - mass).abs() <= 1e-9 * mass);
    }
}

#[test]
fn approx_match_is_an_upper_bound_of_the_exact_emd_and_close_for_near_copies() {
    for case in fixture("approx_match.json")["cases"].as_array().unwrap() {
        let (a, b) = (f32s(&case["a"]), f32s(&case["b"]));
        let n = case["n"].as_u64().unwrap() as f64;
        let got = approx_match(&a, &b).unwrap();
        let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        let exact = sw_loss::exact_emd(&to64(&a), &to64(&b), 3).unwrap();
        // Our exact EMD agrees with POT's.
        let pot = case["exact_emd"].as_f64().unwrap();
        assert!(
            (exact - pot).abs() <= 1e-6 * pot,
            "exact {exact} vs POT {pot}"
        );
        // (Almost) all the mass is matched, so the plan is feasible and costs at least the optimum.
        assert!(
            got.matched_mass >= n * (1.0 - 1e-3),
            "mass {} of {n}",
            got.matched_mass
        );
        assert!(
            got.cost >= exact * (1.0 - 1e-4),
            "approx {} < exact {exact}",
            got.cost
        );
        let slack = if case["kind"] == "noisy copy" {
            1.06
        } else {
            1.25
        };
        assert!(
            got.cost <= exact * slack,
            "{}: approx {} vs exact {exact}",
            case["kind"],
            got.cost
        );
    }
}

#[test]
fn approx_match_rejects_bad_shapes_and_is_zero_on_identical_clouds() {
    assert!(approx_match(&[0.0; 6], &[0.0; 9]).is_err());
    assert!(approx_match(&[], &[]).is_err());
    assert!(approx_match(&[0.0; 5], &[0.0; 5]).is_err());
    let a: Vec<f32> = (0..30).map(|i| ((i * 7919) % 101) as f32 / 101.0).collect();
    let same = approx_match(&a, &a).unwrap();
    // exp(−4⁷·0) = 1 on the diagonal: the first level matches every point to itself.
    assert!(same.cost < 1e-6, "{}", same.cost);
}

#[test]
fn linear_svm_equals_scikit_learn_linear_svc_defaults() {
    let all = fixture("linear_svc.json");
    for case in all["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let dim = case["dim"].as_u64().unwrap() as usize;
        let (x, y) = (f32s(&case["x_train"]), labels(&case["y_train"]));
        let (xt, yt) = (f32s(&case["x_test"]), labels(&case["y_test"]));
        let svm = LinearSvc::fit(&x, dim, &y, DEFAULT_C).unwrap();
        assert_eq!(svm.classes, labels(&case["classes"]), "{name}");
        // The unique optimum: sklearn run to tol 1e-10.
        let coef: Vec<f64> = svm.coef.iter().flatten().copied().collect();
        let want = floats(&case["tight_coef"]);
        let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        let worst = coef
            .iter()
            .zip(&want)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst <= 1e-6 * scale,
            "{name}: coef off by {worst} (scale {scale})"
        );
        for (a, b) in svm.intercept.iter().zip(floats(&case["tight_intercept"])) {
            assert!(
                (a - b).abs() <= 1e-6 * scale.max(1.0),
                "{name}: intercept {a} vs {b}"
            );
        }
        let decision: Vec<f64> = svm.decision_function(&xt).into_iter().flatten().collect();
        for (a, b) in decision.iter().zip(floats(&case["tight_decision"])) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "{name}: decision {a} vs {b}"
            );
        }
        // And the defaults' (tol 1e-4) predictions and accuracy.
        assert_eq!(
            svm.predict(&xt),
            labels(&case["default_predictions"]),
            "{name}"
        );
        let acc = svm.accuracy(&xt, &yt);
        assert_eq!(acc, case["default_accuracy"].as_f64().unwrap(), "{name}");
    }
}

#[test]
fn linear_svm_reports_bad_input() {
    assert!(LinearSvc::fit(&[0.0; 5], 2, &[0, 1], 1.0).is_err());
    assert!(LinearSvc::fit(&[0.0; 4], 2, &[1, 1], 1.0).is_err());
    let err = LinearSvc::fit(&[0.0, f32::NAN, 1.0, 1.0], 2, &[0, 1], 1.0).unwrap_err();
    assert!(err.to_string().contains("feature value 1"), "{err}");
}
