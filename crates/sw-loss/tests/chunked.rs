//! Memory-bounded evaluation (`memory_budget`): the chunked path gives the values and the
//! gradients (to points, weights and directions) of the unchunked one, for chunks of 1 and 7
//! directions against all L at once, for MC SW and both control variates (γ̂ fitted and
//! detached, d ≤ 16 and d > 16), uniform and weighted measures of unequal sizes; and a budget
//! too small for one direction is an error naming the budget.

mod common;

use burn::tensor::{DType, Device, Tensor, TensorData};
use common::*;
use sw_loss::memory::{Sizes, bytes_per_direction, chunked_fixed_bytes, plan};
use sw_loss::{BatchReduction, Directions, EstimatorKind, LossConfig, Measure, SwError};

/// A deterministic pseudo-random vector in [-1, 1) (no RNG: the test needs no lock).
fn values(len: usize, salt: u64) -> Vec<f64> {
    let mut s = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn t3(data: Vec<f64>, dims: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(data, dims), (device, DType::F64))
}

fn t2d(data: Vec<f64>, dims: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, dims), (device, DType::F64))
}

/// Unit rows `[rows, d]` from `values`.
fn unit_rows(rows: usize, d: usize, salt: u64) -> Vec<f64> {
    let mut v = values(rows * d, salt);
    for r in v.chunks_mut(d) {
        let norm = r.iter().map(|a| a * a).sum::<f64>().sqrt();
        r.iter_mut().for_each(|a| *a /= norm);
    }
    v
}

struct Case {
    /// Chunk sizes to check (each must make a chunked plan).
    chunks: [usize; 2],
    b: usize,
    n: usize,
    m: usize,
    d: usize,
    l: usize,
    weighted: bool,
    per_pair: bool,
}

/// The value `[B]` and gradients (x, y, weights of x, directions) of one evaluation.
/// Flex (the fused kernels) and ndarray (the plain-Burn reference path).
#[allow(deprecated)]
fn devices() -> [Device; 2] {
    [Device::flex(), Device::ndarray()]
}

fn evaluate(device: &Device, case: &Case, config: &LossConfig) -> (Vec<f64>, Vec<Vec<f64>>) {
    let device = device.clone().autodiff();
    let Case {
        b,
        n,
        m,
        d,
        l,
        weighted,
        per_pair,
        ..
    } = *case;
    let x = t3(values(b * n * d, 1), [b, n, d], &device).require_grad();
    let y = t3(
        values(b * m * d, 2).iter().map(|v| v * 0.5 + 0.3).collect(),
        [b, m, d],
        &device,
    )
    .require_grad();
    let wx = t2d(
        values(b * n, 3).iter().map(|v| v.abs() + 0.1).collect(),
        [b, n],
        &device,
    )
    .require_grad();
    let wy = t2d(
        values(b * m, 4).iter().map(|v| v.abs() + 0.1).collect(),
        [b, m],
        &device,
    );
    let (xm, ym) = if weighted {
        (
            Measure::new(x.clone()).with_weights(wx.clone()),
            Measure::new(y.clone()).with_weights(wy),
        )
    } else {
        (Measure::new(x.clone()), Measure::new(y.clone()))
    };
    let dirs = if per_pair {
        Directions::PerPair(t3(unit_rows(b * l, d, 5), [b, l, d], &device).require_grad())
    } else {
        Directions::Shared(t2d(unit_rows(l, d, 5), [l, d], &device).require_grad())
    };
    let out = config.forward_with_directions(&xm, &ym, &dirs).unwrap();
    // A non-uniform upstream gradient per pair, so per-pair bookkeeping is checked.
    let upstream = Tensor::<1>::from_data(
        TensorData::new((0..b).map(|i| 1.0 + i as f64).collect::<Vec<_>>(), [b]),
        (&device, DType::F64),
    );
    let grads = (out.clone() * upstream).sum().backward();
    let dir_grad = match &dirs {
        Directions::Shared(t) => to_vec(t.grad(&grads).unwrap()),
        Directions::PerPair(t) => to_vec(t.grad(&grads).unwrap()),
    };
    let mut g = vec![
        to_vec(x.grad(&grads).unwrap()),
        to_vec(y.grad(&grads).unwrap()),
        dir_grad,
    ];
    if weighted {
        g.push(to_vec(wx.grad(&grads).unwrap()));
    }
    (to_vec(out), g)
}

/// The budget that makes `plan` pick chunks of exactly `chunk` directions.
fn budget_for(case: &Case, chunk: usize) -> u64 {
    let sizes = Sizes {
        batch: case.b,
        n: case.n,
        m: case.m,
        d: case.d,
        projections: case.l,
        per_pair_directions: case.per_pair,
        dtype: DType::F64,
    };
    let budget = chunked_fixed_bytes(&sizes) + chunk as u64 * bytes_per_direction(&sizes);
    let p = plan(&sizes, budget).unwrap();
    assert_eq!((p.chunk, p.is_chunked()), (chunk, true), "budget {budget}");
    budget
}

fn assert_close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    for (i, (u, v)) in a.iter().zip(b).enumerate() {
        assert!((u - v).abs() <= 1e-12 * scale, "{what}[{i}]: {u} vs {v}");
    }
}

/// The exact gradient of Σ_b u_b SW₂²(b) w.r.t. x for uniform equal sizes and shared
/// directions, on the host: u_b (2/(nL)) Σ_l (θ_lᵀx_i − θ_lᵀy_{π_l(i)}) θ_l, π_l matching ranks.
fn host_sw_grad_x(case: &Case) -> Vec<f64> {
    let Case { b, n, d, l, .. } = *case;
    let x = values(b * n * d, 1);
    let y: Vec<f64> = values(b * n * d, 2).iter().map(|v| v * 0.5 + 0.3).collect();
    let th = unit_rows(l, d, 5);
    let mut g = vec![0.0; b * n * d];
    for bb in 0..b {
        let u = 1.0 + bb as f64;
        for ll in 0..l {
            let t = &th[ll * d..(ll + 1) * d];
            let proj =
                |p: &[f64], i: usize| (0..d).map(|k| p[(bb * n + i) * d + k] * t[k]).sum::<f64>();
            let mut ix: Vec<usize> = (0..n).collect();
            let mut iy: Vec<usize> = (0..n).collect();
            ix.sort_by(|&i, &j| proj(&x, i).total_cmp(&proj(&x, j)));
            iy.sort_by(|&i, &j| proj(&y, i).total_cmp(&proj(&y, j)));
            for r in 0..n {
                let (i, j) = (ix[r], iy[r]);
                let c = u * 2.0 / (n * l) as f64 * (proj(&x, i) - proj(&y, j));
                for k in 0..d {
                    g[(bb * n + i) * d + k] += c * t[k];
                }
            }
        }
    }
    g
}

fn check(case: Case, kinds: &[(EstimatorKind, bool)]) {
    for device in devices() {
        for &(kind, detach_gamma) in kinds {
            let whole = LossConfig {
                kind,
                detach_gamma,
                power: true,
                reduction: BatchReduction::PerPair,
                ..LossConfig::default()
            };
            let (v0, g0) = evaluate(&device, &case, &whole);
            assert!(
                v0.iter().all(|v| v.is_finite() && *v > 0.0),
                "{kind}: {v0:?}"
            );
            if kind == EstimatorKind::Sw && !case.weighted && !case.per_pair {
                // An independent anchor: the unchunked gradient is the closed form.
                assert_close(
                    &format!("{device:?} unchunked vs host"),
                    &g0[0],
                    &host_sw_grad_x(&case),
                );
            }
            for chunk in case.chunks {
                let cfg = LossConfig {
                    memory_budget: budget_for(&case, chunk),
                    ..whole.clone()
                };
                let (v, g) = evaluate(&device, &case, &cfg);
                let what = format!("{device:?} {kind} (detach γ {detach_gamma}), chunk {chunk}");
                assert_close(&format!("{what}: value"), &v, &v0);
                for (i, (a, b)) in g.iter().zip(&g0).enumerate() {
                    assert!(b.iter().any(|v| *v != 0.0), "{what}: gradient {i} is zero");
                    assert_close(&format!("{what}: gradient {i}"), a, b);
                }
            }
        }
    }
}

const ALL: [(EstimatorKind, bool); 5] = [
    (EstimatorKind::Sw, false),
    (EstimatorKind::LcvSw, false),
    (EstimatorKind::LcvSw, true),
    (EstimatorKind::UcvSw, false),
    (EstimatorKind::UcvSw, true),
];

#[test]
fn chunked_equals_unchunked_uniform_shared_directions() {
    check(
        Case {
            chunks: [1, 7],
            b: 2,
            n: 24,
            m: 24,
            d: 3,
            l: 16,
            weighted: false,
            per_pair: false,
        },
        &ALL,
    );
}

#[test]
fn chunked_equals_unchunked_weighted_unequal_sizes_per_pair_directions() {
    check(
        Case {
            chunks: [1, 7],
            b: 2,
            n: 15,
            m: 11,
            d: 3,
            l: 16,
            weighted: true,
            per_pair: true,
        },
        &ALL,
    );
}

#[test]
fn chunked_equals_unchunked_in_large_d() {
    // d > 16: the control variate's large-d path (fused C and E[C] on Flex).
    check(
        Case {
            chunks: [1, 7],
            b: 2,
            n: 12,
            m: 12,
            d: 20,
            l: 40,
            weighted: false,
            per_pair: false,
        },
        &ALL,
    );
}

#[test]
fn chunked_values_without_autodiff() {
    let device = Device::flex();
    let (n, d, l) = (30, 3, 20);
    let x = Measure::new(t3(values(n * d, 7), [1, n, d], &device));
    let y = Measure::new(t3(values(n * d, 8), [1, n, d], &device));
    let dirs = Directions::Shared(t2d(unit_rows(l, d, 9), [l, d], &device));
    let case = Case {
        chunks: [3, 3],
        b: 1,
        n,
        m: n,
        d,
        l,
        weighted: false,
        per_pair: false,
    };
    for kind in [EstimatorKind::Sw, EstimatorKind::UcvSw] {
        let whole = LossConfig {
            kind,
            ..LossConfig::default()
        };
        let a = scalar(whole.forward_with_directions(&x, &y, &dirs).unwrap());
        let cfg = LossConfig {
            memory_budget: budget_for(&case, 3),
            ..whole
        };
        let b = scalar(cfg.forward_with_directions(&x, &y, &dirs).unwrap());
        assert!((a - b).abs() <= 1e-12 * a.abs(), "{kind}: {a} vs {b}");
    }
}

#[test]
fn a_budget_below_one_direction_is_an_error_naming_it() {
    let device = Device::flex();
    let x = Measure::new(t3(values(2 * 50 * 3, 1), [2, 50, 3], &device));
    let y = Measure::new(t3(values(2 * 50 * 3, 2), [2, 50, 3], &device));
    let cfg = LossConfig {
        memory_budget: 1000,
        ..LossConfig::default()
    };
    let err = cfg.forward(&x, &y).unwrap_err();
    match &err {
        SwError::MemoryBudget { budget, need, .. } => {
            assert_eq!(*budget, 1000);
            assert!(*need > 1000);
        }
        other => panic!("expected MemoryBudget, got {other:?}"),
    }
    assert!(err.to_string().contains("memory_budget"), "{err}");
    // plan_memory refuses the same sizes up front.
    assert!(matches!(
        cfg.plan_memory(2, 50, 50, 3, DType::F32),
        Err(SwError::MemoryBudget { .. })
    ));
    assert!(matches!(
        LossConfig {
            memory_budget: 0,
            ..cfg
        }
        .validate(),
        Err(SwError::InvalidParameter {
            name: "memory_budget",
            ..
        })
    ));
}

#[test]
fn the_plan_bounds_the_estimate_and_goes_unchunked_when_it_fits() {
    let big = Sizes {
        batch: 1,
        n: 1_000_000,
        m: 1_000_000,
        d: 3,
        projections: 1000,
        per_pair_directions: false,
        dtype: DType::F32,
    };
    let p = plan(&big, 1 << 30).unwrap();
    assert!(p.is_chunked());
    assert!(p.estimated_bytes <= 1 << 30);
    // One more direction per chunk would not fit.
    assert!(chunked_fixed_bytes(&big) + (p.chunk as u64 + 1) * bytes_per_direction(&big) > 1 << 30);
    // 2·10⁶ values × (3·4 + 8) bytes = 40 MB per direction.
    assert_eq!(bytes_per_direction(&big), 2_000_000 * 20);
    let small = Sizes {
        n: 2048,
        m: 2048,
        projections: 10,
        ..big
    };
    let p = plan(&small, 1 << 30).unwrap();
    assert_eq!(p.chunk, 10);
    assert!(!p.is_chunked());
}
