//! Sliced unbalanced OT (SUOT) and unbalanced sliced OT (USOT) against POT 0.9.7
//! (`tests/data/sliced_plans_pot.json`, section "unbalanced", written by
//! `scripts/fixtures/sliced_plans_pot.py` with given directions: weighted clouds of unequal
//! sizes and of unequal masses 1 and 1.5, ρ = (0.5, 0.5) and (1, 5), POT's 10 Frank–Wolfe
//! steps), and their properties: zero on equal measures, symmetry, ρ = ∞ is SW_p^p,
//! the semi-relaxed branch is the limit ρ → ∞, bad inputs are named errors.

mod common;

use burn::tensor::{DType, Device, Tensor};
use common::*;
use serde_json::Value;
use sw_loss::SwError;
use sw_loss::unbalanced::{UnbalancedOptions, sliced_unbalanced_ot, unbalanced_sliced_ot};

const F64: DType = DType::F64;
/// f64 end to end: the Frank–Wolfe steps run in the same order as POT's.
const TOL: f64 = 1e-10;

fn cases() -> Vec<Value> {
    let path = crate_dir().join("tests/data/sliced_plans_pot.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["unbalanced"].as_array().unwrap().clone()
}

struct Case {
    x: Tensor<2>,
    y: Tensor<2>,
    a: Tensor<1>,
    b: Tensor<1>,
    dirs: Tensor<2>,
}

fn load(case: &Value, device: &Device) -> Case {
    let (xd, n, d) = matrix(&case["x"]);
    let (yd, m, _) = matrix(&case["y"]);
    let (dd, l, _) = matrix(&case["directions"]);
    Case {
        x: t2(xd, n, d, device, F64),
        y: t2(yd, m, d, device, F64),
        a: t1(vector(&case["a"]), device, F64),
        b: t1(vector(&case["b"]), device, F64),
        dirs: t2(dd, l, d, device, F64),
    }
}

fn flat(v: &Value) -> Vec<f64> {
    match v.as_array().unwrap().first() {
        Some(Value::Array(_)) => matrix(v).0,
        _ => vector(v),
    }
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1.0f64, |s, w| s.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOL * scale, "{what}[{i}]: {g} vs {w}");
    }
}

fn options(r: &Value) -> UnbalancedOptions {
    let rho = vector(&r["reg_m"]);
    UnbalancedOptions::new(rho[0], rho[1])
}

/// Runs `check` on every fixture case and ρ pair: the clouds (requiring grad), the case, the
/// entry of `section` ("suot" or "usot") and a label; then compares the gradient in both clouds
/// of the value `check` returns with the fixture's (POT's envelope gradient: the generator
/// differentiates its final transport term with the marginals held).
fn for_each_case(
    section: &str,
    check: impl Fn(&Tensor<2>, &Tensor<2>, &Case, &Value, &str) -> Tensor<1>,
) {
    let device = Device::flex().autodiff();
    for case in cases() {
        let c = load(&case, &device);
        for r in case["rhos"].as_array().unwrap() {
            let want = &r[section];
            let what = format!("{section} {} reg_m {:?}", case["name"], vector(&r["reg_m"]));
            let (x, y) = (c.x.clone().require_grad(), c.y.clone().require_grad());
            let value = check(&x, &y, &c, r, &what);
            assert!(
                rel_err(scalar(value.clone()), want["value"].as_f64().unwrap()) < TOL,
                "{what}: value"
            );
            let grads = value.backward();
            let gx = to_vec(x.grad(&grads).unwrap());
            assert_close(&gx, &flat(&want["grad_x"]), &what);
            let gy = to_vec(y.grad(&grads).unwrap());
            assert_close(&gy, &flat(&want["grad_y"]), &what);
        }
    }
}

/// SUOT: the value, each direction's UOT and transport term, the masses, the reweighted
/// marginals, the potentials and the gradient in both clouds.
#[test]
fn suot_matches_pot() {
    for_each_case("suot", |x, y, c, r, what| {
        let want = &r["suot"];
        let got = sliced_unbalanced_ot(x, y, Some(&c.a), Some(&c.b), &c.dirs, options(r)).unwrap();
        let per_direction = to_vec(got.per_direction.clone());
        assert_close(&per_direction, &vector(&want["projected_uots"]), what);
        assert_close(&got.transport, &vector(&want["linear_cost"]), what);
        assert_close(&got.mass, &vector(&want["full_mass"]), what);
        assert_close(&got.a_reweighted, &flat(&want["a_reweighted"]), what);
        assert_close(&got.b_reweighted, &flat(&want["b_reweighted"]), what);
        assert_close(&got.f, &flat(&want["f"]), what);
        assert_close(&got.g, &flat(&want["g"]), what);
        got.value
    });
}

/// USOT: the value, the sliced transport term, the 1-D costs, the mass, the reweighted
/// marginals and the gradient in both clouds.
#[test]
fn usot_matches_pot() {
    for_each_case("usot", |x, y, c, r, what| {
        let want = &r["usot"];
        let got = unbalanced_sliced_ot(x, y, Some(&c.a), Some(&c.b), &c.dirs, options(r)).unwrap();
        let transport = scalar(got.transport.clone());
        assert!(
            rel_err(transport, want["sot_loss"].as_f64().unwrap()) < TOL,
            "{what}: sot"
        );
        assert_close(&got.one_d, &vector(&want["one_d_losses"]), what);
        for m in vector(&want["full_mass"]) {
            assert!(
                rel_err(got.mass, m) < TOL,
                "{what}: mass {} vs {m}",
                got.mass
            );
        }
        assert_close(&got.a_reweighted, &vector(&want["a_reweighted"]), what);
        assert_close(&got.b_reweighted, &vector(&want["b_reweighted"]), what);
        got.value
    });
}

fn random_cloud(rng: &mut HostRng, n: usize, d: usize, shift: f64, device: &Device) -> Tensor<2> {
    let v = rng.normals(n * d).into_iter().map(|v| v + shift).collect();
    t2(v, n, d, device, F64)
}

fn random_weights(rng: &mut HostRng, n: usize, mass: f64, device: &Device) -> Tensor<1> {
    let w: Vec<f64> = (0..n).map(|_| 0.2 + rng.uniform()).collect();
    let total: f64 = w.iter().sum();
    t1(
        w.into_iter().map(|v| v * mass / total).collect(),
        device,
        F64,
    )
}

/// Equal measures are at distance 0; swapping the clouds (with their weights and ρ₁ ↔ ρ₂)
/// gives the same value; ρ₁ = ρ₂ = ∞ is SW_p^p (host reference, uniform equal sizes) for
/// p = 1, 2, 3; the semi-relaxed branch (one ρ = ∞) is the limit of a large finite ρ.
#[test]
fn properties() {
    let device = Device::flex();
    let mut rng = HostRng::new(7);
    let (n, m, d, l) = (12, 9, 3, 6);
    let x = random_cloud(&mut rng, n, d, 0.0, &device);
    let y = random_cloud(&mut rng, m, d, 0.7, &device);
    let (a, b) = (
        random_weights(&mut rng, n, 1.0, &device),
        random_weights(&mut rng, m, 1.3, &device),
    );
    let dirs_h = rng.unit_rows(l, d);
    let dirs = t2(dirs_h.clone(), l, d, &device, F64);
    let suot = |x: &Tensor<2>, y, a: &Tensor<1>, b: &Tensor<1>, o| {
        scalar(
            sliced_unbalanced_ot(x, y, Some(a), Some(b), &dirs, o)
                .unwrap()
                .value,
        )
    };
    let usot = |x: &Tensor<2>, y, a: &Tensor<1>, b: &Tensor<1>, o| {
        scalar(
            unbalanced_sliced_ot(x, y, Some(a), Some(b), &dirs, o)
                .unwrap()
                .value,
        )
    };
    let o = UnbalancedOptions::new(0.8, 2.5);
    assert!(suot(&x, &x, &a, &a, o).abs() < 1e-14);
    assert!(usot(&x, &x, &a, &a, o).abs() < 1e-14);
    let swapped = UnbalancedOptions::new(2.5, 0.8);
    assert!(rel_err(suot(&y, &x, &b, &a, swapped), suot(&x, &y, &a, &b, o)) < 1e-10);
    assert!(rel_err(usot(&y, &x, &b, &a, swapped), usot(&x, &y, &a, &b, o)) < 1e-10);

    let inf = f64::INFINITY;
    let y_eq = random_cloud(&mut rng, n, d, 0.7, &device);
    let (xh, yh) = (to_vec(x.clone()), to_vec(y_eq.clone()));
    let uniform = t1(vec![1.0 / n as f64; n], &device, F64);
    for p in [1.0, 2.0, 3.0] {
        let balanced = UnbalancedOptions::new(inf, inf).with_p(p);
        let want = host::sw_pp(&xh, &yh, d, &dirs_h, p);
        assert!(
            rel_err(suot(&x, &y_eq, &uniform, &uniform, balanced), want) < 1e-12,
            "p = {p}"
        );
        assert!(
            rel_err(usot(&x, &y_eq, &uniform, &uniform, balanced), want) < 1e-12,
            "p = {p}"
        );
    }

    for (relaxed, near) in [
        (
            UnbalancedOptions::new(0.8, inf),
            UnbalancedOptions::new(0.8, 1e8),
        ),
        (
            UnbalancedOptions::new(inf, 2.5),
            UnbalancedOptions::new(1e8, 2.5),
        ),
    ] {
        let (s, sn) = (suot(&x, &y, &a, &b, relaxed), suot(&x, &y, &a, &b, near));
        // ρ = 1e8 is within ~1e-7 of the limit; POT's KL ε (1e-16 inside the log) adds
        // ρ · mass · 1e-16 ≈ 1e-8.
        assert!(rel_err(s, sn) < 1e-5, "SUOT semi-relaxed {s} vs {sn}");
        let (u, un) = (usot(&x, &y, &a, &b, relaxed), usot(&x, &y, &a, &b, near));
        assert!(rel_err(u, un) < 1e-5, "USOT semi-relaxed {u} vs {un}");
    }
}

/// More Frank–Wolfe steps than POT's 10 lower SUOT towards its optimum: the value after 400
/// steps is below the value after 10, and the reweighted masses settle (400 vs 800 steps).
#[test]
fn more_steps_converge() {
    let device = Device::flex();
    let mut rng = HostRng::new(11);
    let x = random_cloud(&mut rng, 10, 2, 0.0, &device);
    let y = random_cloud(&mut rng, 14, 2, 1.0, &device);
    let dirs = t2(rng.unit_rows(4, 2), 4, 2, &device, F64);
    let run = |steps| {
        sliced_unbalanced_ot(
            &x,
            &y,
            None,
            None,
            &dirs,
            UnbalancedOptions::new(0.5, 0.5).with_iterations(steps),
        )
        .unwrap()
    };
    let (v10, v400, v800) = (run(10), run(400), run(800));
    assert!(scalar(v400.value.clone()) < scalar(v10.value.clone()));
    for (m4, m8) in v400.mass.iter().zip(&v800.mass) {
        assert!((m4 - m8).abs() < 1e-2 * m8, "{m4} vs {m8}");
    }
}

#[test]
fn bad_inputs_are_named_errors() {
    let device = Device::flex();
    let x = t2(vec![0.0, 1.0, 2.0, 3.0], 2, 2, &device, F64);
    let y = t2(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 3, 2, &device, F64);
    let dirs = t2(vec![1.0, 0.0], 1, 2, &device, F64);
    let o = UnbalancedOptions::new(1.0, 1.0);
    let err = |r: Result<sw_loss::unbalanced::Suot, SwError>| r.unwrap_err();
    assert!(matches!(
        err(sliced_unbalanced_ot(
            &x,
            &y,
            None,
            None,
            &t2(vec![1.0, 0.0, 0.0], 1, 3, &device, F64),
            o
        )),
        SwError::Shape { .. }
    ));
    let short = t1(vec![1.0], &device, F64);
    assert!(matches!(
        err(sliced_unbalanced_ot(&x, &y, Some(&short), None, &dirs, o)),
        SwError::Shape { what: "a", .. }
    ));
    let negative = t1(vec![1.0, -1.0, 0.5], &device, F64);
    assert!(matches!(
        err(sliced_unbalanced_ot(
            &x,
            &y,
            None,
            Some(&negative),
            &dirs,
            o
        )),
        SwError::InvalidParameter { name: "b", .. }
    ));
    for (rho1, rho2, name) in [
        (0.0, 1.0, "rho1"),
        (1.0, -2.0, "rho2"),
        (f64::NAN, 1.0, "rho1"),
    ] {
        assert!(matches!(
            err(sliced_unbalanced_ot(&x, &y, None, None, &dirs, UnbalancedOptions::new(rho1, rho2))),
            SwError::InvalidParameter { name: n, .. } if n == name
        ));
    }
    assert!(matches!(
        err(sliced_unbalanced_ot(
            &x,
            &y,
            None,
            None,
            &dirs,
            o.with_p(0.5)
        )),
        SwError::InvalidP(_)
    ));
    let nan = t2(vec![0.0, f64::NAN, 2.0, 3.0], 2, 2, &device, F64);
    assert!(matches!(
        unbalanced_sliced_ot(&nan, &y, None, None, &dirs, o).unwrap_err(),
        SwError::NonFinite { .. }
    ));
}
