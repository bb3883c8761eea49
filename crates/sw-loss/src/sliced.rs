//! Monte Carlo sliced Wasserstein (Bonneel et al. 2015; Kolouri et al. 2019).
//!
//! ```text
//! SW_p^p(μ, ν) = E_{θ~Unif(S^{d−1})} W_p^p(θ♯μ, θ♯ν) ≈ (1/L) Σ_l W_p^p(θ_l♯μ, θ_l♯ν)
//! SW_p(μ, ν)   = (SW_p^p)^{1/p}
//! ```
//! Shapes: x `[B, n, d]`, y `[B, m, d]`, directions `[L, d]` or `[B, L, d]`; per-direction
//! values `[B, L]`; results `[1]` (mean, sum) or `[B]` (none).
//! POT reference: `ot.sliced_wasserstein_distance` (Flamary et al., JMLR 2021).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::directions::{DirectionKind, Directions};
use crate::error::{Result, SwError};
use crate::kernel;
use crate::measure::{Measure, all_finite, check_p, check_pair};

/// How the per-pair values of a batch are combined (named apart from `burn::nn::loss::Reduction`,
/// and with no `None` variant to shadow `Option::None` under a glob import).
///
/// In configs: `"mean"` (default), `"sum"`, `"none"` (or `"per-pair"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BatchReduction {
    /// Mean over the batch: `[1]`.
    #[default]
    Mean,
    /// Sum over the batch: `[1]`.
    Sum,
    /// One value per pair: `[B]`.
    #[serde(rename = "none", alias = "per-pair")]
    PerPair,
}

impl BatchReduction {
    /// Applies the reduction to per-pair values `[B]`.
    pub fn apply(self, per_pair: Tensor<1>) -> Tensor<1> {
        match self {
            BatchReduction::Mean => per_pair.mean(),
            BatchReduction::Sum => per_pair.sum(),
            BatchReduction::PerPair => per_pair,
        }
    }
}

/// Options shared by the estimators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlicedOptions {
    /// Number of projections L.
    pub projections: usize,
    /// Exponent p ≥ 1.
    pub p: f64,
    /// How random directions are drawn.
    pub directions: DirectionKind,
    /// Batch reduction.
    pub reduction: BatchReduction,
    /// Check inputs for NaN/inf (one device read per call).
    pub check_finite: bool,
}

impl Default for SlicedOptions {
    fn default() -> Self {
        Self {
            projections: 100,
            p: 2.0,
            directions: DirectionKind::Uniform,
            reduction: BatchReduction::Mean,
            check_finite: true,
        }
    }
}

impl SlicedOptions {
    /// Options with L projections and exponent p, other fields default.
    pub fn new(projections: usize, p: f64) -> Self {
        Self {
            projections,
            p,
            ..Self::default()
        }
    }

    /// Sets the reduction.
    pub fn with_reduction(mut self, reduction: BatchReduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets the direction sampler.
    pub fn with_directions(mut self, directions: DirectionKind) -> Self {
        self.directions = directions;
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        check_p(self.p)?;
        if self.projections == 0 {
            return Err(SwError::NoProjections);
        }
        Ok(())
    }
}

/// Projects a batch of point sets on directions: `[B, n, d] × [B, L, d] → [B, L, n]`.
///
/// The projections of each direction are a contiguous row, so each 1-D sort runs on
/// contiguous memory. Uses the fused kernel where the device has one.
pub fn project(points: &Tensor<3>, directions: &Directions) -> Tensor<3> {
    let b = points.dims()[0];
    kernel::project(points.clone(), directions.per_pair(b))
}

/// The plain-matmul twin of [`kernel::project`] (it lives beside the kernel's dispatch, which
/// falls back to it).
pub use crate::kernel::project_reference;

/// W_p^p of the projected measures for every pair and direction: `[B, L]`.
///
/// Equal sizes with uniform weights use sorting (the fused kernel where available); any
/// other case uses the quantile merge of [`crate::one_d::wpp_quantile`].
pub fn projected_wpp(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
) -> Result<Tensor<2>> {
    check_all(x, y, directions, p)?;
    Ok(projected_wpp_unchecked(x, y, directions, p))
}

pub(crate) fn projected_wpp_unchecked(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
) -> Tensor<2> {
    projected_wpp_with(x, y, directions, p, Slicing::Linear)
}

/// How a point is sliced along a direction θ (generalized SW, Kolouri et al., NeurIPS 2019):
/// the defining function g(x, θ) whose values are compared in 1-D. The polynomial defining
/// function of [`crate::gsw`] is linear slicing of lifted points, so it needs no variant here.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Slicing {
    /// g(x, θ) = ⟨θ, x⟩ (SW). Default.
    #[default]
    Linear,
    /// g(x, θ) = ‖x − r θ‖₂ (kimiandj/gsw code/gsw/gsw.py lines 149–159: the centres r·θ
    /// with ‖θ‖ = 1).
    Circular {
        /// r > 0.
        radius: f64,
    },
}

/// Slices a batch of point sets: `[B, n, d] × directions → [B, L, n]`, g(x, θ) per
/// [`Slicing`]. Circular: ‖x − rθ‖² = ‖x‖² − 2r⟨θ, x⟩ + r²‖θ‖², from the same (fused)
/// projection, then the root (clamped at 1e-30 so a point on a centre has a finite gradient).
pub(crate) fn slice(points: &Tensor<3>, directions: &Directions, slicing: Slicing) -> Tensor<3> {
    let projected = project(points, directions);
    match slicing {
        Slicing::Linear => projected,
        Slicing::Circular { radius } => {
            let [b, n, _] = points.dims();
            let norms = points.clone().square().sum_dim(2).reshape([b, 1, n]);
            let theta_sq = directions.per_pair(b).square().sum_dim(2); // [B, L, 1]
            (norms - projected.mul_scalar(2.0 * radius) + theta_sq.mul_scalar(radius * radius))
                .clamp_min(1e-30)
                .sqrt()
        }
    }
}

/// [`projected_wpp`] with any [`Slicing`] (inputs checked): `[B, L]`.
pub(crate) fn projected_wpp_with(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    slicing: Slicing,
) -> Tensor<2> {
    let px = slice(x.points(), directions, slicing);
    let py = slice(y.points(), directions, slicing);
    wpp_from_projections(x, y, px, py, p)
}

/// W_p^p per pair and direction from projections `[B, L, n]`, `[B, L, m]` → `[B, L]`.
pub(crate) fn wpp_from_projections(
    x: &Measure,
    y: &Measure,
    px: Tensor<3>,
    py: Tensor<3>,
    p: f64,
) -> Tensor<2> {
    let [b, l, n] = px.dims();
    let m = py.dims()[2];
    let px = px.reshape([b * l, n]);
    let py = py.reshape([b * l, m]);
    let per_row = if n == m && x.is_uniform() && y.is_uniform() {
        kernel::sorted_wpp(px, py, p)
    } else {
        let (wx, wy) = (x.normalized_weights(), y.normalized_weights());
        kernel::weighted_wpp(px, py, wx, wy, p)
    };
    per_row.reshape([b, l])
}

/// The p-th root, made safe at 0: `max(v, 1e-30)^{1/p}`.
///
/// The clamp keeps the gradient finite when two measures coincide (the derivative of v^{1/p}
/// is infinite at 0); it changes the value only below 1e-30.
pub(crate) fn root(v: Tensor<1>, p: f64) -> Tensor<1> {
    if p == 1.0 {
        v
    } else if p == 2.0 {
        v.clamp_min(1e-30).sqrt()
    } else {
        v.clamp_min(1e-30).powf_scalar(1.0 / p)
    }
}

/// Checks the per-direction values `[B, L]` (one small read). NaN/inf anywhere in the inputs
/// reaches every projection, so this catches bad inputs without reading them; only on failure
/// are the inputs read to say which one was bad.
pub(crate) fn ensure_finite(
    w: &Tensor<2>,
    x: &Measure,
    y: &Measure,
    directions: &Directions,
) -> Result<()> {
    if all_finite(w) {
        return Ok(());
    }
    let dirs_finite = match directions {
        Directions::Shared(t) => all_finite(t),
        Directions::PerPair(t) => all_finite(t),
    };
    if !all_finite(x.points()) {
        return Err(crate::measure::non_finite_point("x", x.points()));
    }
    if !all_finite(y.points()) {
        return Err(crate::measure::non_finite_point("y", y.points()));
    }
    let what = if !dirs_finite {
        "directions"
    } else {
        "the projected values (the inputs are finite but overflow when projected)"
    };
    Err(SwError::NonFinite { what })
}

/// SW_p^p per pair with the given directions: `[B]`.
pub(crate) fn sw_pp_per_pair(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    slicing: Slicing,
    check_finite: bool,
) -> Result<Tensor<1>> {
    let w = projected_wpp_with(x, y, directions, p, slicing);
    if check_finite {
        ensure_finite(&w, x, y, directions)?;
    }
    Ok(w.mean_dim(1).squeeze_dim(1))
}

/// Structural checks of a call with given directions: p, shapes, batch, weights, devices.
pub(crate) fn check_all(x: &Measure, y: &Measure, directions: &Directions, p: f64) -> Result<()> {
    check_p(p)?;
    check_pair(x, y, false, p)?;
    let [b, _, d] = x.dims();
    directions.check(b, d)?;
    if directions.dtype() != x.points().dtype() {
        return Err(crate::measure::dtype_mismatch(
            "directions",
            directions.dtype(),
            x.points().dtype(),
        ));
    }
    Ok(())
}
