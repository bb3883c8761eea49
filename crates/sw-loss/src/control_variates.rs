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
//! orthogonal blocks. Shapes: as in [`crate::sliced`].

use burn::tensor::Tensor;

use crate::directions::Directions;
use crate::error::Result;
use crate::measure::{Measure, check_pair};
use crate::sliced::{self, Reduction, SlicedOptions, project, root, wpp_from_projections};

/// Which control variate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlVariate {
    /// C(θ) = (θᵀ(m₁ − m₂))², a lower bound of W₂² between the projected Gaussian fits.
    Lower,
    /// C(θ) = (θᵀ(m₁ − m₂))² + θᵀΣ₁θ + θᵀΣ₂θ, an upper bound.
    Upper,
}

/// Per pair and direction: the W_p^p values `[B, L]`, the control variate `[B, L]`, and its
/// exact expectation `[B, 1]`.
pub fn control_variate_terms(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    kind: ControlVariate,
) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let [b, n, d] = x.dims();
    let m = y.dims()[1];
    let px = project(x.points(), directions); // [B, L, n]
    let py = project(y.points(), directions); // [B, L, m]
    let ax = x.normalized_weights(); // [B, n]
    let ay = y.normalized_weights(); // [B, m]
    let ax3 = ax.clone().reshape([b, 1, n]);
    let ay3 = ay.clone().reshape([b, 1, m]);
    let mean_px = (px.clone() * ax3.clone()).sum_dim(2); // [B, L, 1]
    let mean_py = (py.clone() * ay3.clone()).sum_dim(2); // [B, L, 1]
    let mean_gap = (mean_px.clone() - mean_py.clone()).squeeze_dim::<2>(2); // [B, L]
    let c_lower = mean_gap.square();
    let m1 = (x.points().clone() * ax.clone().reshape([b, n, 1])).sum_dim(1); // [B, 1, d]
    let m2 = (y.points().clone() * ay.clone().reshape([b, m, 1])).sum_dim(1); // [B, 1, d]
    let gap_sq = (m1.clone() - m2.clone())
        .square()
        .sum_dim(2)
        .reshape([b, 1]); // [B, 1]
    let (c, expectation) = match kind {
        ControlVariate::Lower => (c_lower, gap_sq.div_scalar(d as f64)),
        ControlVariate::Upper => {
            let var_px = ((px.clone() - mean_px).square() * ax3)
                .sum_dim(2)
                .squeeze_dim::<2>(2);
            let var_py = ((py.clone() - mean_py).square() * ay3)
                .sum_dim(2)
                .squeeze_dim::<2>(2);
            let tr1 = ((x.points().clone() - m1)
                .square()
                .sum_dim(2)
                .reshape([b, n])
                * ax)
                .sum_dim(1);
            let tr2 = ((y.points().clone() - m2)
                .square()
                .sum_dim(2)
                .reshape([b, m])
                * ay)
                .sum_dim(1);
            (
                c_lower + var_px + var_py,
                (gap_sq + tr1 + tr2).div_scalar(d as f64),
            )
        }
    };
    let w = wpp_from_projections(x, y, px, py, p);
    (w, c, expectation)
}

/// Combines W `[B, L]`, C `[B, L]` and E\[C\] `[B, 1]` into the CV estimate of SW_p^p `[B]`.
pub fn control_variate_estimate(
    w: Tensor<2>,
    c: Tensor<2>,
    expectation: Tensor<2>,
    detach_gamma: bool,
) -> Tensor<1> {
    let centred_c = c - expectation; // [B, L]
    let w_mean = w.clone().mean_dim(1); // [B, 1]
    let var_c = centred_c.clone().square().mean_dim(1); // [B, 1]
    let cov = ((w - w_mean.clone()) * centred_c.clone()).mean_dim(1); // [B, 1]
    let mut gamma = cov / var_c.add_scalar(1e-24);
    if detach_gamma {
        gamma = gamma.detach();
    }
    (w_mean - gamma * centred_c.mean_dim(1))
        .clamp_min(0.0)
        .squeeze_dim(1)
}

pub(crate) fn per_pair(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    kind: ControlVariate,
    detach_gamma: bool,
    check_finite: bool,
) -> Result<Tensor<1>> {
    let (w, c, e) = control_variate_terms(x, y, dirs, p, kind);
    if check_finite {
        sliced::ensure_finite(&w, x, y, dirs)?;
    }
    Ok(control_variate_estimate(w, c, e, detach_gamma))
}

/// CV-SW_p^p with caller-given directions, reduced over B.
pub fn cv_sw_pp_with_directions(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    kind: ControlVariate,
    detach_gamma: bool,
    reduction: Reduction,
) -> Result<Tensor<1>> {
    sliced::check_all(x, y, directions, p)?;
    Ok(reduction.apply(per_pair(x, y, directions, p, kind, detach_gamma, true)?))
}

/// CV-SW_p with caller-given directions, reduced over B (root per pair).
pub fn cv_sw_with_directions(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    kind: ControlVariate,
    detach_gamma: bool,
    reduction: Reduction,
) -> Result<Tensor<1>> {
    sliced::check_all(x, y, directions, p)?;
    Ok(reduction.apply(root(
        per_pair(x, y, directions, p, kind, detach_gamma, true)?,
        p,
    )))
}

/// CV-SW with L random directions; `power` keeps SW_p^p instead of taking the root.
fn with_random_directions(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    kind: ControlVariate,
    detach_gamma: bool,
    power: bool,
) -> Result<Tensor<1>> {
    options.check()?;
    check_pair(x, y, false, options.p)?;
    let dirs = sliced::random_directions(x, options);
    let v = per_pair(
        x,
        y,
        &dirs,
        options.p,
        kind,
        detach_gamma,
        options.check_finite,
    )?;
    Ok(options
        .reduction
        .apply(if power { v } else { root(v, options.p) }))
}

/// LCV-SW_p (lower control variate) with L random directions.
pub fn lcv_sw(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    detach_gamma: bool,
) -> Result<Tensor<1>> {
    with_random_directions(x, y, options, ControlVariate::Lower, detach_gamma, false)
}

/// LCV-SW_p^p with L random directions.
pub fn lcv_sw_pp(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    detach_gamma: bool,
) -> Result<Tensor<1>> {
    with_random_directions(x, y, options, ControlVariate::Lower, detach_gamma, true)
}

/// UCV-SW_p (upper control variate) with L random directions.
pub fn ucv_sw(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    detach_gamma: bool,
) -> Result<Tensor<1>> {
    with_random_directions(x, y, options, ControlVariate::Upper, detach_gamma, false)
}

/// UCV-SW_p^p with L random directions.
pub fn ucv_sw_pp(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    detach_gamma: bool,
) -> Result<Tensor<1>> {
    with_random_directions(x, y, options, ControlVariate::Upper, detach_gamma, true)
}
