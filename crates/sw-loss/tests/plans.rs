//! Sliced plans against POT 0.9.7 (`tests/data/sliced_plans_pot.json`, written by
//! `scripts/fixtures/sliced_plans_pot.py` with given directions): every per-direction plan
//! (dense), its cost, the min pivot and the expected plan at β = 0 and 2 — with POT's
//! per-direction cost fixed where it is wrong (the generator stores both), and their
//! properties.

mod common;

use burn::tensor::{DType, Device, Tensor};
use common::*;
use serde_json::Value;
use sw_loss::SwError;
use sw_loss::plans::{GroundCost, SparsePlan, expected_plan, min_pivot_plan, sliced_plans};

const F64: DType = DType::F64;

fn cases() -> Vec<Value> {
    let path = crate_dir().join("tests/data/sliced_plans_pot.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["plans"].as_array().unwrap().clone()
}

fn dense_of(entry: &Value, n: usize, m: usize) -> Vec<f64> {
    let plan = SparsePlan {
        rows: vector(&entry["rows"]).iter().map(|v| *v as usize).collect(),
        cols: vector(&entry["cols"]).iter().map(|v| *v as usize).collect(),
        mass: vector(&entry["mass"]),
    };
    plan.dense(n, m)
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} vs {w}");
    }
}

struct Case {
    name: String,
    x: Tensor<2>,
    y: Tensor<2>,
    a: Tensor<1>,
    b: Tensor<1>,
    dirs: Tensor<2>,
    n: usize,
    m: usize,
}

fn load(case: &Value, device: &Device) -> Case {
    let (xd, n, d) = matrix(&case["x"]);
    let (yd, m, _) = matrix(&case["y"]);
    let (dd, l, _) = matrix(&case["directions"]);
    Case {
        name: case["name"].as_str().unwrap().to_string(),
        x: t2(xd, n, d, device, F64),
        y: t2(yd, m, d, device, F64),
        a: t1(vector(&case["a"]), device, F64),
        b: t1(vector(&case["b"]), device, F64),
        dirs: t2(dd, l, d, device, F64),
        n,
        m,
    }
}

/// Per-direction plans (as dense matrices: POT's COO has zero and repeated entries) and costs,
/// ties and unequal weighted sizes included; marginals a and b.
#[test]
fn per_direction_plans_and_costs_match_pot() {
    let device = Device::flex();
    for case in cases() {
        let c = load(&case, &device);
        let got = sliced_plans(
            &c.x,
            &c.y,
            Some(&c.a),
            Some(&c.b),
            &c.dirs,
            GroundCost::SqEuclidean,
        )
        .unwrap();
        let costs = to_vec(got.costs.clone());
        for (k, entry) in case["per_direction"].as_array().unwrap().iter().enumerate() {
            let dense = got.plans[k].dense(c.n, c.m);
            assert_close(&dense, &dense_of(entry, c.n, c.m), 1e-12, &c.name);
            let want = entry["cost"].as_f64().unwrap();
            assert!(rel_err(costs[k], want) < 1e-12, "{}: cost {k}", c.name);
            let (a, b) = (vector(&case["a"]), vector(&case["b"]));
            for i in 0..c.n {
                let row: f64 = dense[i * c.m..(i + 1) * c.m].iter().sum();
                assert!((row - a[i]).abs() < 1e-12);
            }
            for j in 0..c.m {
                let col: f64 = (0..c.n).map(|i| dense[i * c.m + j]).sum();
                assert!((col - b[j]).abs() < 1e-12);
            }
            assert!(
                got.plans[k].mass.len() < c.n + c.m,
                "at most n + m − 1 entries"
            );
        }
    }
}

/// The min pivot (the first of equal minima in the tie cases) and the expected plan at β = 0
/// and β = 2: weights, dense plan and cost.
#[test]
fn min_pivot_and_expected_plans_match_pot() {
    let device = Device::flex();
    for case in cases() {
        let c = load(&case, &device);
        let want = &case["min_pivot"];
        let (plan, index, cost) = min_pivot_plan(
            &c.x,
            &c.y,
            Some(&c.a),
            Some(&c.b),
            &c.dirs,
            GroundCost::SqEuclidean,
        )
        .unwrap();
        assert_eq!(index as u64, want["index"].as_u64().unwrap(), "{}", c.name);
        assert!(rel_err(scalar(cost), want["cost"].as_f64().unwrap()) < 1e-12);
        assert_close(
            &plan.dense(c.n, c.m),
            &matrix(&want["plan"]).0,
            1e-12,
            &c.name,
        );
        for e in case["expected"].as_array().unwrap() {
            let beta = e["beta"].as_f64().unwrap();
            let (dense, weights, cost) = expected_plan(
                &c.x,
                &c.y,
                Some(&c.a),
                Some(&c.b),
                &c.dirs,
                beta,
                GroundCost::SqEuclidean,
            )
            .unwrap();
            let what = format!("{} β = {beta}", c.name);
            assert_close(&to_vec(weights), &vector(&e["weights"]), 1e-12, &what);
            assert_close(&dense, &matrix(&e["plan"]).0, 1e-12, &what);
            assert!(
                rel_err(scalar(cost), e["cost"].as_f64().unwrap()) < 1e-12,
                "{what}"
            );
        }
    }
}

/// The cost's gradient in x is that of Σ P_ij ‖x_i − y_j‖² with the plan fixed: 2 Σ_j P_ij
/// (x_i − y_j) (independent of POT); the Euclidean and Minkowski costs agree with their
/// definitions on a one-entry plan; bad inputs are named errors.
#[test]
fn gradients_costs_and_errors() {
    let device = Device::flex().autodiff();
    let case = &cases()[3];
    let c = load(case, &device);
    let x = c.x.clone().require_grad();
    let got = sliced_plans(
        &x,
        &c.y,
        Some(&c.a),
        Some(&c.b),
        &c.dirs,
        GroundCost::SqEuclidean,
    )
    .unwrap();
    let g = to_vec(
        x.grad(&got.costs.clone().narrow(0, 0, 1).sum().backward())
            .unwrap(),
    );
    let dense = got.plans[0].dense(c.n, c.m);
    let (xh, yh) = (matrix(&case["x"]).0, matrix(&case["y"]).0);
    let d = xh.len() / c.n;
    for i in 0..c.n {
        for k in 0..d {
            let want: f64 = (0..c.m)
                .map(|j| 2.0 * dense[i * c.m + j] * (xh[i * d + k] - yh[j * d + k]))
                .sum();
            assert!((g[i * d + k] - want).abs() < 1e-12, "∂C/∂x[{i}][{k}]");
        }
    }
    let plain = Device::flex();
    let x1 = Tensor::<2>::from_floats([[0.0, 0.0]], &plain).cast(F64);
    let y1 = Tensor::<2>::from_floats([[3.0, -4.0]], &plain).cast(F64);
    let dir = Tensor::<2>::from_floats([[1.0, 0.0]], &plain).cast(F64);
    for (cost, want) in [
        (GroundCost::SqEuclidean, 25.0),
        (GroundCost::Euclidean, 5.0),
        (GroundCost::Minkowski(1.0), 7.0),
        (GroundCost::Minkowski(3.0), (27.0f64 + 64.0).powf(1.0 / 3.0)),
    ] {
        let v = scalar(
            sliced_plans(&x1, &y1, None, None, &dir, cost)
                .unwrap()
                .costs,
        );
        assert!((v - want).abs() < 1e-12, "{cost:?}: {v}");
    }
    let wrong = Tensor::<2>::from_floats([[1.0, 0.0, 0.0]], &plain).cast(F64);
    assert!(matches!(
        sliced_plans(&x1, &y1, None, None, &wrong, GroundCost::SqEuclidean),
        Err(SwError::Shape { .. })
    ));
    let negative = Tensor::<1>::from_floats([-1.0], &plain).cast(F64);
    assert!(matches!(
        sliced_plans(
            &x1,
            &y1,
            Some(&negative),
            None,
            &dir,
            GroundCost::SqEuclidean
        ),
        Err(SwError::InvalidParameter { name: "a", .. })
    ));
    let nan = Tensor::<2>::from_floats([[f32::NAN, 0.0]], &plain).cast(F64);
    assert!(matches!(
        sliced_plans(&nan, &y1, None, None, &dir, GroundCost::SqEuclidean),
        Err(SwError::NonFinite { .. })
    ));
}
