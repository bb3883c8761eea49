//! Sliced Wasserstein with control variates (Nguyen & Ho, "Control Variate Sliced Wasserstein
//! Estimators", ICLR 2024, arXiv:2305.00402).
//!
//! Fit Gaussians N(m₁, Σ₁), N(m₂, Σ₂) to the two measures (weighted moments when weights are
//! given). For a direction θ the projected Gaussians are N(θᵀm, θᵀΣθ), which gives two control
//! variates with closed-form expectations under θ ~ Unif(S^{d−1}):
//! ```text
//! lower  C(θ) = (θᵀ(m₁ − m₂))²                          E[C] = ‖m₁ − m₂‖² / d
//! upper  C(θ) = (θᵀ(m₁ − m₂))² + θᵀΣ₁θ + θᵀΣ₂θ          E[C] = (‖m₁ − m₂‖² + tr Σ₁ + tr Σ₂) / d
//!
//! with W_l = W_p^p(θ_l♯μ, θ_l♯ν), C_l = C(θ_l), l = 1..L (the same draws):
//!   γ̂  = Cov̂(W, C) / Var̂(C),  Cov̂ = (1/L) Σ (W_l − W̄)(C_l − E[C]),  Var̂ = (1/L) Σ (C_l − E[C])²
//!   CV-SW_p^p = max(W̄ − γ̂ (C̄ − E[C]), 0),        CV-SW_p = (CV-SW_p^p)^{1/p}
//! ```
//! γ̂ comes from the same draws, so the estimate is slightly biased at small L (O(1/L)).
//! The closed forms for E\[C\] assume θ uniform on the sphere, which also holds row-wise for
//! orthogonal blocks and for the randomized QMC samplers of [`crate::qmc`]. Shapes: as in [`crate::sliced`].

use burn::tensor::Tensor;

use crate::directions::Directions;
use crate::error::Result;
use crate::kernel;
use crate::measure::Measure;
use crate::sliced::{self, project, wpp_from_projections};

/// Which control variate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlVariate {
    /// C(θ) = (θᵀ(m₁ − m₂))², a lower bound of W₂² between the projected Gaussian fits.
    Lower,
    /// C(θ) = (θᵀ(m₁ − m₂))² + θᵀΣ₁θ + θᵀΣ₂θ, an upper bound.
    Upper,
}

/// Whether γ̂ carries a gradient.
///
/// γ̂ = Cov̂(W, C)/Var̂(C) is itself a function of the inputs. `Fitted` (the default, as
/// khainb/CV-SW) differentiates through it; `Detached` holds it constant in the backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gamma {
    /// Differentiate through γ̂ (khainb/CV-SW).
    #[default]
    Fitted,
    /// Hold γ̂ constant in the backward pass.
    Detached,
}

impl Gamma {
    pub(crate) fn is_detached(self) -> bool {
        self == Gamma::Detached
    }
}

// Scalar divisions on differentiable paths are written as multiplications by the inverse:
// Burn 0.22.1's backward of `div_scalar` rounds the scalar to f32 (`1.0 / s.elem::<f32>()`),
// a 5e-8 relative error in f64 gradients; `mul_scalar`'s backward keeps it exact.

/// Up to this dimension the projected variances θᵀΣθ come from the d×d covariances (a few
/// passes over `[B, n, d]`); above it, from the projected rows `[B, L, n]`, which are already
/// there and smaller than Σ.
const SMALL_D: usize = 16;

/// The Gaussian fit's first moments of a measure: the mean `[B, d]` and the raw second moment
/// `Σ_i a_i ‖x_i‖²` `[B, 1]`. Uniform weights: one fused pass ([`kernel::moments`]).
fn first_moments(x: &Measure) -> (Tensor<2>, Tensor<2>) {
    let [b, n, d] = x.dims();
    if x.is_uniform() {
        let both = kernel::moments(x.points().clone()); // [B, d + 1]
        return (
            both.clone().slice([0..b, 0..d]),
            both.slice([0..b, d..d + 1]),
        );
    }
    let a = x.normalized_weights(); // [B, n]
    let mean = (x.points().clone() * a.clone().reshape([b, n, 1]))
        .sum_dim(1)
        .reshape([b, d]);
    let second = (x.points().clone().square().sum_dim(2).reshape([b, n]) * a).sum_dim(1);
    (mean, second)
}

/// `⟨θ_{b,l}, v_b⟩` for directions `[B, L, d]` and vectors `[B, d]`: `[B, L]`.
fn along(theta: &Tensor<3>, v: Tensor<2>) -> Tensor<2> {
    (theta.clone() * v.unsqueeze_dim::<3>(1))
        .sum_dim(2)
        .squeeze_dim::<2>(2)
}

/// The weighted means of projected rows `[B, L, n]` → `[B, L]` (θᵀm per direction).
fn row_means(x: &Measure, proj: &Tensor<3>) -> Tensor<2> {
    let [b, n, _] = x.dims();
    if x.is_uniform() {
        return proj.clone().mean_dim(2).squeeze_dim::<2>(2);
    }
    (proj.clone() * x.normalized_weights().reshape([b, 1, n]))
        .sum_dim(2)
        .squeeze_dim::<2>(2)
}

/// The projected variances θᵀΣθ `[B, L]` and tr Σ `[B, 1]` of one measure with mean m `[B, d]`
/// and raw second moment s `[B, 1]`; `proj` are its projections `[B, L, n]`.
fn projected_variances(
    x: &Measure,
    theta: &Tensor<3>,
    proj: &Tensor<3>,
    mean: Tensor<2>,
    second: Tensor<2>,
) -> (Tensor<2>, Tensor<2>) {
    let [b, n, d] = x.dims();
    let a = x.normalized_weights(); // [B, n]
    if d <= SMALL_D {
        // Σ = Σ_i a_i (x_i − m)(x_i − m)ᵀ [B, d, d], centred first (no cancellation).
        let centred = x.points().clone() - mean.unsqueeze_dim::<3>(1); // [B, n, d]
        let weighted = centred.clone() * a.reshape([b, n, 1]);
        let trace = (weighted.clone() * centred.clone())
            .sum_dim(1)
            .sum_dim(2)
            .reshape([b, 1]);
        let sigma = weighted.swap_dims(1, 2).matmul(centred); // [B, d, d]
        let var = (theta.clone().matmul(sigma) * theta.clone())
            .sum_dim(2)
            .squeeze_dim::<2>(2);
        (var, trace)
    } else {
        // θᵀΣθ = Σ_i a_i (θᵀx_i − θᵀm)² from the projected rows; tr Σ = s − ‖m‖².
        let mean_proj = row_means(x, proj).unsqueeze_dim::<3>(2); // [B, L, 1]
        let var = ((proj.clone() - mean_proj).square() * a.reshape([b, 1, n]))
            .sum_dim(2)
            .squeeze_dim::<2>(2);
        let trace = second - mean.square().sum_dim(1);
        (var, trace)
    }
}

/// The control variate `[B, L]` from projected rows `[B, L, n]`, `[B, L, m]` of measures with
/// any weights: `(θᵀm₁ − θᵀm₂)²` (lower), plus `θᵀΣ₁θ + θᵀΣ₂θ` (upper), each the weighted
/// mean and variance of a row. The fused op [`kernel::projected_cv`] for uniform weights.
pub(crate) fn control_variate_from_projections(
    x: &Measure,
    y: &Measure,
    px: &Tensor<3>,
    py: &Tensor<3>,
    kind: ControlVariate,
) -> Tensor<2> {
    let upper = kind == ControlVariate::Upper;
    if x.is_uniform() && y.is_uniform() {
        return kernel::projected_cv(px.clone(), py.clone(), upper);
    }
    let (mx, my) = (row_means(x, px), row_means(y, py)); // [B, L]
    let c = (mx.clone() - my.clone()).square();
    if !upper {
        return c;
    }
    let variance = |m: &Measure, proj: &Tensor<3>, mean: Tensor<2>| {
        let [b, n, _] = m.dims();
        ((proj.clone() - mean.unsqueeze_dim::<3>(2)).square()
            * m.normalized_weights().reshape([b, 1, n]))
        .sum_dim(2)
        .squeeze_dim::<2>(2)
    };
    c + variance(x, px, mx) + variance(y, py, my)
}

/// E\[C\] `[B, 1]` for measures with any weights: `‖m₁ − m₂‖²/d` (lower),
/// `(‖m₁ − m₂‖² + tr Σ₁ + tr Σ₂)/d` (upper), tr Σ = Σ_i a_i ‖x_i − m‖² (centred). The fused
/// op [`kernel::cv_expectation`] for uniform weights.
pub(crate) fn control_variate_expectation(
    x: &Measure,
    y: &Measure,
    kind: ControlVariate,
) -> Tensor<2> {
    let upper = kind == ControlVariate::Upper;
    if x.is_uniform() && y.is_uniform() {
        return kernel::cv_expectation(x.points().clone(), y.points().clone(), upper);
    }
    let [b, _, d] = x.dims();
    let (m1, _) = first_moments(x);
    let (m2, _) = first_moments(y);
    let gap_sq = (m1.clone() - m2.clone()).square().sum_dim(1); // [B, 1]
    if !upper {
        return gap_sq.mul_scalar(1.0 / d as f64);
    }
    let trace = |m: &Measure, mean: Tensor<2>| {
        let [_, n, _] = m.dims();
        ((m.points().clone() - mean.unsqueeze_dim::<3>(1))
            .square()
            .sum_dim(2)
            .reshape([b, n])
            * m.normalized_weights())
        .sum_dim(1)
    };
    (gap_sq + trace(x, m1) + trace(y, m2)).mul_scalar(1.0 / d as f64)
}

/// Per pair and direction: the W_p^p values `[B, L]`, the control variate `[B, L]`, and its
/// exact expectation `[B, 1]`.
///
/// The Gaussian terms come from the moments of the points (one fused pass for uniform
/// weights): for d ≤ 16 with the L × d directions, not with extra passes over the `[B, L, n]`
/// projections (`θᵀm₁ − θᵀm₂ = θᵀ(m₁ − m₂)`, θᵀΣθ from the d × d covariance); for larger d
/// from the projected rows, which are then the smaller of the two. For larger d and uniform
/// weights, C and E\[C\] are one fused op each ([`kernel::projected_cv`],
/// [`kernel::cv_expectation`]) on Flex.
pub fn control_variate_terms(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    kind: ControlVariate,
) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let [b, _, d] = x.dims();
    let px = project(x.points(), directions); // [B, L, n]
    let py = project(y.points(), directions); // [B, L, m]
    let upper = kind == ControlVariate::Upper;
    if d > SMALL_D && x.is_uniform() && y.is_uniform() {
        let c = kernel::projected_cv(px.clone(), py.clone(), upper);
        let expectation = kernel::cv_expectation(x.points().clone(), y.points().clone(), upper);
        let w = wpp_from_projections(x, y, px, py, p);
        return (w, c, expectation);
    }
    let theta = directions.per_pair(b); // [B, L, d]
    let (m1, s1) = first_moments(x);
    let (m2, s2) = first_moments(y);
    let gap = m1.clone() - m2.clone(); // [B, d]
    let gap_sq = gap.clone().square().sum_dim(1); // [B, 1]
    // θᵀ(m₁ − m₂): from the L × d directions for small d, from the projected rows `[B, L, n]`
    // (smaller than `[B, L, d]`) for large d.
    let c_lower = if d <= SMALL_D {
        along(&theta, gap)
    } else {
        row_means(x, &px) - row_means(y, &py)
    }
    .square(); // [B, L]
    let (c, expectation) = match kind {
        ControlVariate::Lower => (c_lower, gap_sq.mul_scalar(1.0 / d as f64)),
        ControlVariate::Upper => {
            let (var_x, tr1) = projected_variances(x, &theta, &px, m1, s1);
            let (var_y, tr2) = projected_variances(y, &theta, &py, m2, s2);
            (
                c_lower + var_x + var_y,
                (gap_sq + tr1 + tr2).mul_scalar(1.0 / d as f64),
            )
        }
    };
    let w = wpp_from_projections(x, y, px, py, p);
    (w, c, expectation)
}

pub(crate) fn per_pair(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    kind: ControlVariate,
    gamma: Gamma,
    check_finite: bool,
) -> Result<Tensor<1>> {
    let (w, c, e) = control_variate_terms(x, y, dirs, p, kind);
    if check_finite {
        sliced::ensure_finite(&w, x, y, dirs)?;
    }
    Ok(kernel::cv_combine(w, c, e, gamma.is_detached()))
}
