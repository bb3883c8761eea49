//! Sliced transport plans between two point clouds: the 1-D optimal plan of each direction
//! lifted to the points, the min-pivot plan (min-SWGG) and the expected plan, as POT 0.9.7's
//! `ot.sliced.sliced_plans`, `min_sliced_transport_plan` and `expected_sliced_plan`
//! (ot/sliced/_sliced_plans.py lines 21, 187, 355).
//!
//! ```text
//! direction θ_l:   σ, τ = stable argsorts of ⟨x_i, θ_l⟩ and ⟨y_j, θ_l⟩
//!                  P_l = the north-west-corner (quantile) coupling of a[σ] and b[τ], lifted back
//!                        to the points: at most n + m − 1 entries (i, j, mass)
//! cost             C_l = Σ_{(i,j) ∈ P_l} P_l[i, j] · c(x_i, y_j),   c = ‖x − y‖² (POT's default
//!                        metric "sqeuclidean"), ‖x − y‖ or ‖x − y‖_q ([`GroundCost`])
//! min-pivot        l* = the first argmin_l C_l:  (P_{l*}, C_{l*})
//! expected (β)     w = softmax(−β C) (β = 0: w_l = 1/L),  P̄ = Σ_l w_l P_l,  C̄ = Σ_l w_l C_l = ⟨P̄, c⟩
//! ```
//! The plans are combinatorics (sorts, a merge) and are built on the host in f64; the costs are
//! gathered on the device from the points, so they are differentiable in the points (the plan
//! is a constant: the envelope of the 1-D problem). The softmax weights of the expected plan
//! are differentiated with their costs.
//!
//! Labelled differences from POT 0.9.7 (found while writing the fixtures; the generator stores
//! POT's raw outputs beside the corrected ones):
//! - POT's per-direction costs are wrong whenever it does not take its permutation shortcut
//!   (n ≠ m, non-uniform weights, or uniform weights that fail its exact float test, e.g.
//!   n = 7): `sparse_ot_dist` (ot/utils.py line 394) weights each entry by the mass of its
//!   *row*, not its own. Those costs choose POT's min pivot and its β ≠ 0 weights. Ours is the
//!   formula above (checked against dense plans and ⟨P, C⟩ in the fixture generator).
//! - POT's `expected_sliced_plan` builds the β = 0 weights from `n_projections` when it is
//!   passed along with `projections` (line 494); ours uses the L directions given.
//!
//! # Shapes
//! points `[n, d]`, `[m, d]` (one pair), weights `[n]`, `[m]` or uniform, directions `[L, d]`;
//! per-direction costs `[L]`; dense plans `[n, m]`.

use burn::tensor::{Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::error::{Result, SwError};
use crate::host::host;

/// The ground cost c(x, y) of the plans' costs (POT's `metric` argument).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum GroundCost {
    /// ‖x − y‖² (POT's default, "sqeuclidean").
    #[default]
    SqEuclidean,
    /// ‖x − y‖ ("euclidean").
    Euclidean,
    /// ‖x − y‖_q = (Σ_k |x_k − y_k|^q)^{1/q} ("minkowski" with p = q).
    Minkowski(f64),
}

/// One transport plan in sparse form: `mass[k]` moves from point `rows[k]` of x to point
/// `cols[k]` of y (no zero masses, no repeated pairs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparsePlan {
    /// Indices into x.
    pub rows: Vec<usize>,
    /// Indices into y.
    pub cols: Vec<usize>,
    /// Masses, summing to 1.
    pub mass: Vec<f64>,
}

impl SparsePlan {
    /// The dense `[n, m]` matrix of the plan.
    pub fn dense(&self, n: usize, m: usize) -> Vec<f64> {
        let mut out = vec![0.0; n * m];
        for ((&i, &j), &w) in self.rows.iter().zip(&self.cols).zip(&self.mass) {
            out[i * m + j] += w;
        }
        out
    }
}

/// The plans of every direction and their costs.
#[derive(Debug, Clone)]
pub struct SlicedPlans {
    /// One plan per direction.
    pub plans: Vec<SparsePlan>,
    /// C_l `[L]`, differentiable in the points.
    pub costs: Tensor<1>,
}

/// The north-west-corner coupling of two sorted weighted samples (`order_*`: indices in
/// ascending projection, stable), merged into distinct (i, j) entries with positive mass.
pub(crate) fn north_west(order_x: &[usize], a: &[f64], order_y: &[usize], b: &[f64]) -> SparsePlan {
    let (mut i, mut j) = (0, 0);
    let (mut left_a, mut left_b) = (a[order_x[0]], b[order_y[0]]);
    let mut plan = SparsePlan::default();
    loop {
        let w = left_a.min(left_b);
        if w > 0.0 {
            plan.rows.push(order_x[i]);
            plan.cols.push(order_y[j]);
            plan.mass.push(w);
        }
        left_a -= w;
        left_b -= w;
        let (last_i, last_j) = (i + 1 == order_x.len(), j + 1 == order_y.len());
        if last_i && last_j {
            break;
        }
        // Advance the side that is used up (x first on a tie); at the end of one side, the
        // other takes what rounding left.
        if (left_a <= left_b && !last_i) || last_j {
            i += 1;
            left_a = a[order_x[i]];
        } else {
            j += 1;
            left_b = b[order_y[j]];
        }
    }
    plan
}

/// The shapes `(n, m, L)` of one pair x `[n, d]`, y `[m, d]` and its directions `[L, d]`,
/// checked: n, m, L ≥ 1 and one d (`what` names the function in the error).
pub(crate) fn check_pair(
    x: &Tensor<2>,
    y: &Tensor<2>,
    directions: &Tensor<2>,
    what: &'static str,
) -> Result<(usize, usize, usize)> {
    let ([n, d], [m, dy], [l, dd]) = (x.dims(), y.dims(), directions.dims());
    if n == 0 || m == 0 || l == 0 || d != dy || d != dd {
        return Err(SwError::Shape {
            what,
            expected: format!("n, m, L >= 1 and one d (x is [{n}, {d}])"),
            got: vec![m, dy, l, dd],
        });
    }
    Ok((n, m, l))
}

/// Weights `[len]` on the host as given (uniform 1/len for `None`), checked: finite, ≥ 0 and
/// not all 0 (`what` names the argument in the error).
pub(crate) fn host_weights(
    w: Option<&Tensor<1>>,
    len: usize,
    what: &'static str,
) -> Result<Vec<f64>> {
    let Some(w) = w else {
        return Ok(vec![1.0 / len as f64; len]);
    };
    if w.dims() != [len] {
        return Err(SwError::Shape {
            what,
            expected: format!("[{len}]"),
            got: w.dims().to_vec(),
        });
    }
    let h = host(w);
    if h.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || h.iter().sum::<f64>() <= 0.0 {
        return Err(SwError::InvalidParameter {
            name: what,
            message: "weights must be finite, >= 0 and not all 0".into(),
        });
    }
    Ok(h)
}

/// The projections ⟨x_i, θ_l⟩ of x `[n, d]` on directions `[L, d]`, on the host `[n, L]`
/// row-major, checked finite.
pub(crate) fn host_projections(
    x: &Tensor<2>,
    directions: &Tensor<2>,
    what: &'static str,
) -> Result<Vec<f64>> {
    let p = host(&x.clone().matmul(directions.clone().transpose()));
    if p.iter().any(|v| !v.is_finite()) {
        return Err(SwError::NonFinite { what });
    }
    Ok(p)
}

fn normalised(w: Vec<f64>) -> Vec<f64> {
    let total: f64 = w.iter().sum();
    w.iter().map(|v| v / total).collect()
}

pub(crate) fn stable_order(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&p, &q| values[p].total_cmp(&values[q]));
    order
}

/// The ground cost of gathered pairs `[K, d]` × `[K, d]` → `[K]`.
fn ground(xs: Tensor<2>, ys: Tensor<2>, cost: GroundCost) -> Tensor<1> {
    let k = xs.dims()[0];
    let diff = xs - ys;
    match cost {
        GroundCost::SqEuclidean => diff.square().sum_dim(1).reshape([k]),
        GroundCost::Euclidean => diff
            .square()
            .sum_dim(1)
            .clamp_min(1e-30)
            .sqrt()
            .reshape([k]),
        GroundCost::Minkowski(q) => diff
            .abs()
            .powf_scalar(q)
            .sum_dim(1)
            .clamp_min(1e-30)
            .powf_scalar(1.0 / q)
            .reshape([k]),
    }
}

/// The sliced plans of x `[n, d]` and y `[m, d]` (weights `[n]`, `[m]` or uniform) on the
/// directions `[L, d]`, with the cost of each under `cost` — POT's `sliced_plans` with given
/// `projections` (module doc).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::plans::{GroundCost, sliced_plans};
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 0.0]], &device);
/// let y = Tensor::<2>::from_floats([[1.0, 1.0], [0.0, 1.0]], &device);
/// let dirs = Tensor::<2>::from_floats([[1.0, 0.0]], &device);
/// let p = sliced_plans(&x, &y, None, None, &dirs, GroundCost::SqEuclidean).unwrap();
/// // Sorted along the first axis, x_0 ↔ y_1 and x_1 ↔ y_0, each at distance 1.
/// assert_eq!(p.plans[0].dense(2, 2), vec![0.0, 0.5, 0.5, 0.0]);
/// assert!((p.costs.into_scalar::<f32>() - 1.0).abs() < 1e-6);
/// ```
///
/// # Errors
/// [`SwError::Shape`] for empty clouds, dimensions that disagree, weights of other lengths or
/// no directions; [`SwError::NonFinite`] for NaN/inf points; [`SwError::InvalidParameter`] for
/// negative or all-zero weights or a Minkowski exponent < 1.
pub fn sliced_plans(
    x: &Tensor<2>,
    y: &Tensor<2>,
    a: Option<&Tensor<1>>,
    b: Option<&Tensor<1>>,
    directions: &Tensor<2>,
    cost: GroundCost,
) -> Result<SlicedPlans> {
    let (n, m, l) = check_pair(
        x,
        y,
        directions,
        "sliced plans: x [n, d], y [m, d], directions [L, d]",
    )?;
    let (wa, wb) = (
        normalised(host_weights(a, n, "a")?),
        normalised(host_weights(b, m, "b")?),
    );
    if let GroundCost::Minkowski(q) = cost
        && !(q.is_finite() && q >= 1.0)
    {
        return Err(SwError::InvalidParameter {
            name: "cost",
            message: format!("the Minkowski exponent must be a finite real >= 1, got {q}"),
        });
    }
    let what = "sliced plans: points or directions";
    let px = host_projections(x, directions, what)?; // [n, L]
    let py = host_projections(y, directions, what)?; // [m, L]
    let plans: Vec<SparsePlan> = (0..l)
        .into_par_iter()
        .map(|k| {
            let sx: Vec<f64> = (0..n).map(|i| px[i * l + k]).collect();
            let sy: Vec<f64> = (0..m).map(|j| py[j * l + k]).collect();
            north_west(&stable_order(&sx), &wa, &stable_order(&sy), &wb)
        })
        .collect();
    let costs = plan_costs(x, y, &plans, cost);
    Ok(SlicedPlans { plans, costs })
}

/// The cost of each plan, gathered on the device: `[L]`.
fn plan_costs(x: &Tensor<2>, y: &Tensor<2>, plans: &[SparsePlan], cost: GroundCost) -> Tensor<1> {
    let device = x.device();
    let dtype = x.dtype();
    let (mut rows, mut cols, mut owner) = (Vec::<i64>::new(), Vec::<i64>::new(), Vec::<i64>::new());
    let mut mass = Vec::<f64>::new();
    for (k, p) in plans.iter().enumerate() {
        rows.extend(p.rows.iter().map(|&i| i as i64));
        cols.extend(p.cols.iter().map(|&j| j as i64));
        mass.extend(&p.mass);
        owner.extend(std::iter::repeat_n(k as i64, p.mass.len()));
    }
    let e = mass.len();
    let index = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [e]), &device);
    let xs = x.clone().select(0, index(rows));
    let ys = y.clone().select(0, index(cols));
    let weighted =
        ground(xs, ys, cost) * Tensor::<1>::from_data(TensorData::new(mass, [e]), (&device, dtype));
    Tensor::<1>::zeros([plans.len()], (&device, dtype)).select_assign(
        0,
        index(owner),
        weighted,
        burn::tensor::IndexingUpdateOp::Add,
    )
}

/// The min-pivot plan (min-SWGG): the plan of the first direction with the least cost, its
/// index and cost (differentiable) — POT's `min_sliced_transport_plan` with given
/// `projections` (the metric "sqeuclidean" of its default p = 2 is [`GroundCost::SqEuclidean`]).
///
/// # Errors
/// As [`sliced_plans`].
pub fn min_pivot_plan(
    x: &Tensor<2>,
    y: &Tensor<2>,
    a: Option<&Tensor<1>>,
    b: Option<&Tensor<1>>,
    directions: &Tensor<2>,
    cost: GroundCost,
) -> Result<(SparsePlan, usize, Tensor<1>)> {
    let all = sliced_plans(x, y, a, b, directions, cost)?;
    let host_costs = host(&all.costs);
    let best = (0..host_costs.len())
        .min_by(|&p, &q| host_costs[p].total_cmp(&host_costs[q]).then(p.cmp(&q)))
        .unwrap_or(0);
    let index = Tensor::<1, Int>::from_data(TensorData::new(vec![best as i64], [1]), &x.device());
    let cost = all.costs.select(0, index);
    Ok((all.plans[best].clone(), best, cost))
}

/// The expected sliced plan at inverse temperature β: weights w = softmax(−β C) (uniform at
/// β = 0), the dense plan Σ_l w_l P_l `[n, m]` (host, f64), the weights `[L]` and the cost
/// Σ_l w_l C_l (differentiable, the weights with it) — POT's `expected_sliced_plan` with
/// given `projections`.
///
/// # Errors
/// As [`sliced_plans`]; [`SwError::InvalidParameter`] for a β that is not finite.
pub fn expected_plan(
    x: &Tensor<2>,
    y: &Tensor<2>,
    a: Option<&Tensor<1>>,
    b: Option<&Tensor<1>>,
    directions: &Tensor<2>,
    beta: f64,
    cost: GroundCost,
) -> Result<(Vec<f64>, Tensor<1>, Tensor<1>)> {
    if !beta.is_finite() {
        return Err(SwError::InvalidParameter {
            name: "beta",
            message: format!("must be finite, got {beta}"),
        });
    }
    let all = sliced_plans(x, y, a, b, directions, cost)?;
    let weights = if beta == 0.0 {
        all.costs
            .ones_like()
            .mul_scalar(1.0 / all.plans.len() as f64)
    } else {
        burn::tensor::activation::softmax(all.costs.clone().mul_scalar(-beta), 0)
    };
    let (n, m) = (x.dims()[0], y.dims()[0]);
    let w = host(&weights);
    let mut dense = vec![0.0; n * m];
    for (p, wl) in all.plans.iter().zip(&w) {
        for ((&i, &j), &mass) in p.rows.iter().zip(&p.cols).zip(&p.mass) {
            dense[i * m + j] += wl * mass;
        }
    }
    let total = (weights.clone() * all.costs).sum();
    Ok((dense, weights, total))
}
