//! Agreement with POT 0.9.7 (`tests/data/sliced_pot.json`): SW with given directions,
//! per-direction W_p^p (POT `wasserstein_1d`), and the CV-SW formulas.

mod common;

use burn::tensor::{DType, Device};
use common::*;
use serde_json::Value;
use sw_loss::{
    BatchReduction, ControlVariate, Directions, Gamma, Measure, cv_sw_with_directions,
    projected_wpp, sw_with_directions,
};

struct Case {
    x: Measure,
    y: Measure,
    dirs: Directions,
    p: f64,
}

fn is_uniform(w: &[f64]) -> bool {
    w.iter().all(|&v| (v - 1.0 / w.len() as f64).abs() < 1e-15)
}

/// Builds a case; weights are attached only where they are not uniform (or `force_weights`).
fn build(case: &Value, device: &Device, dtype: DType, force_weights: bool) -> Case {
    let (x, n, d) = matrix(&case["x"]);
    let (y, m, _) = matrix(&case["y"]);
    let (th, l, _) = matrix(&case["directions"]);
    let (a, b) = (vector(&case["a"]), vector(&case["b"]));
    let mut xm = Measure::single(t2(x, n, d, device, dtype));
    let mut ym = Measure::single(t2(y, m, d, device, dtype));
    if force_weights || !is_uniform(&a) || !is_uniform(&b) {
        xm = xm.with_weights_1d(t1(a, device, dtype));
        ym = ym.with_weights_1d(t1(b, device, dtype));
    }
    Case {
        x: xm,
        y: ym,
        dirs: Directions::Shared(t2(th, l, d, device, dtype)),
        p: case["p"].as_f64().unwrap(),
    }
}

fn sliced_cases() -> Vec<Value> {
    fixture_cases()
        .into_iter()
        .filter(|c| c["kind"] == "sliced")
        .collect()
}

/// On every test device (flex, and tch in a `--features tch` build).
fn check_sw(dtype: DType, tol: f64, force_weights: bool) {
    for (name, device) in test_devices() {
        check_sw_on(&device, dtype, tol, force_weights, name);
    }
}

fn check_sw_on(device: &Device, dtype: DType, tol: f64, force_weights: bool, device_name: &str) {
    let cases = sliced_cases();
    assert!(cases.len() >= 6, "fixture has {} sliced cases", cases.len());
    for (i, case) in cases.iter().enumerate() {
        let c = build(case, device, dtype, force_weights);
        let got =
            scalar(sw_with_directions(&c.x, &c.y, &c.dirs, c.p, BatchReduction::Mean).unwrap());
        let want = case["sw"].as_f64().unwrap();
        assert!(
            rel_err(got, want) < tol,
            "case {i} (p = {}, {device_name}): sw {got} vs POT {want}",
            c.p
        );
        let per = to_vec(projected_wpp(&c.x, &c.y, &c.dirs, c.p).unwrap());
        let want_per = vector(&case["per_direction_wpp"]);
        assert_eq!(per.len(), want_per.len());
        for (l, (g, w)) in per.iter().zip(&want_per).enumerate() {
            assert!(
                (g - w).abs() < tol * w.abs().max(1e-3),
                "case {i} direction {l}: W_p^p {g} vs POT {w}"
            );
        }
    }
}

#[test]
fn sw_and_per_direction_match_pot_in_f32() {
    check_sw(DType::F32, 1e-5, false);
}

#[test]
fn sw_and_per_direction_match_pot_in_f64() {
    check_sw(DType::F64, 1e-10, false);
}

/// The general quantile path (explicit weights, even where uniform) gives POT's values too.
#[test]
fn quantile_path_matches_pot_on_every_case() {
    check_sw(DType::F64, 1e-10, true);
}

#[test]
fn control_variates_match_the_fixture() {
    for (device_name, device) in test_devices() {
        control_variates_match_the_fixture_on(device, device_name);
    }
}

fn control_variates_match_the_fixture_on(device: Device, device_name: &str) {
    let mut checked = 0;
    for dtype in [DType::F32, DType::F64] {
        let tol = if dtype == DType::F32 { 1e-5 } else { 1e-10 };
        for case in sliced_cases().iter().filter(|c| c.get("lcv_sw").is_some()) {
            let c = build(case, &device, dtype, false);
            for (kind, key) in [
                (ControlVariate::Lower, "lcv_sw"),
                (ControlVariate::Upper, "ucv_sw"),
            ] {
                let got = scalar(
                    cv_sw_with_directions(
                        &c.x,
                        &c.y,
                        &c.dirs,
                        c.p,
                        kind,
                        Gamma::Fitted,
                        BatchReduction::Mean,
                    )
                    .unwrap(),
                );
                let want = case[key].as_f64().unwrap();
                assert!(
                    rel_err(got, want) < tol,
                    "{key} ({dtype:?}, {device_name}): {got} vs fixture {want}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 4);
}

/// Same inputs and directions on flex and ndarray agree to 1e-5 relative.
#[cfg(feature = "ndarray")]
#[test]
fn flex_and_ndarray_agree() {
    #[allow(deprecated)]
    let devices = [Device::flex(), Device::ndarray()];
    for case in sliced_cases() {
        let values: Vec<(f64, f64, f64)> = devices
            .iter()
            .map(|device| {
                let c = build(&case, device, DType::F32, false);
                let sw = scalar(
                    sw_with_directions(&c.x, &c.y, &c.dirs, c.p, BatchReduction::Mean).unwrap(),
                );
                let (lcv, ucv) = if c.p == 2.0 && c.x.dims()[1] == c.y.dims()[1] {
                    (
                        scalar(
                            cv_sw_with_directions(
                                &c.x,
                                &c.y,
                                &c.dirs,
                                2.0,
                                ControlVariate::Lower,
                                Gamma::Fitted,
                                BatchReduction::Mean,
                            )
                            .unwrap(),
                        ),
                        scalar(
                            cv_sw_with_directions(
                                &c.x,
                                &c.y,
                                &c.dirs,
                                2.0,
                                ControlVariate::Upper,
                                Gamma::Fitted,
                                BatchReduction::Mean,
                            )
                            .unwrap(),
                        ),
                    )
                } else {
                    (1.0, 1.0)
                };
                (sw, lcv, ucv)
            })
            .collect();
        let (a, b) = (values[0], values[1]);
        assert!(
            rel_err(a.0, b.0) < 1e-5,
            "sw flex {} vs ndarray {}",
            a.0,
            b.0
        );
        assert!(
            rel_err(a.1, b.1) < 1e-5,
            "lcv flex {} vs ndarray {}",
            a.1,
            b.1
        );
        assert!(
            rel_err(a.2, b.2) < 1e-5,
            "ucv flex {} vs ndarray {}",
            a.2,
            b.2
        );
    }
}

/// The assignment solver gives POT's exact W₂² (network simplex) on the equal-size case.
#[test]
fn exact_w2sq_matches_pot_emd2() {
    let mut checked = 0;
    for case in fixture_cases()
        .into_iter()
        .filter(|c| c["kind"] == "exact_w2sq")
    {
        let (x, n, d) = matrix(&case["x"]);
        let (y, m, _) = matrix(&case["y"]);
        let want = case["w2sq"].as_f64().unwrap();
        if n == m {
            let got = sw_loss::exact_w2sq(&x, &y, d).unwrap();
            assert!(rel_err(got, want) < 1e-10, "exact W2^2 {got} vs POT {want}");
            checked += 1;
        } else {
            assert!(
                sw_loss::exact_w2sq(&x, &y, d).is_err(),
                "unequal sizes are refused"
            );
        }
    }
    assert!(checked >= 1);
}
