//! The control-variate tail of CV-SW as three fused ops on Flex, each with a hand-written
//! backward: they replace some forty small Burn ops (each an allocation and a dispatch, and as
//! many again in the backward) with three.
//!
//! ```text
//! cv_combine      W [B, L], C [B, L], E [B, 1] → [B]       (the CV estimate of SW_p^p)
//!   cc = C − E,  w̄ = mean W,  m = mean cc,  D = mean cc² + 1e-24,  cov = mean((W − w̄) cc)
//!   γ = cov / D,  est_raw = w̄ − γ m,  est = max(est_raw, 0)
//!   ∂est/∂W_l  = 1/L − m (cc_l − m) / (L D)                      (1/L when γ is detached)
//!   ∂est/∂cc_l = −γ/L − m [(W_l − w̄) − 2γ cc_l] / (L D)           (−γ/L when γ is detached)
//!   ∂est/∂C_l  = ∂est/∂cc_l,   ∂est/∂E = −Σ_l ∂est/∂cc_l
//!   all times the upstream gradient and the indicator est_raw ≥ 0 (as Burn's clamp_min)
//!
//! projected_cv    P_x [B, L, n], P_y [B, L, m] → C [B, L]   (uniform weights)
//!   μ_x = mean_i P_x[b,l,i],  v_x = mean_i (P_x[b,l,i] − μ_x)²  (likewise y),  δ = μ_x − μ_y
//!   lower C = δ²                          ∂C/∂P_x[i] = 2δ/n,   ∂C/∂P_y[j] = −2δ/m
//!   upper C = δ² + v_x + v_y              ∂C/∂P_x[i] = 2δ/n + 2(P_x[i] − μ_x)/n
//!                                         ∂C/∂P_y[j] = −2δ/m + 2(P_y[j] − μ_y)/m
//!
//! cv_expectation  X [B, n, d], Y [B, m, d] → E[C] [B, 1]   (uniform weights)
//!   m₁, m₂ the means, s₁ = mean ‖x_i‖², s₂ = mean ‖y_j‖² (one pass each, f64 sums)
//!   lower E = ‖m₁ − m₂‖² / d              ∂E/∂x_i = 2(m₁ − m₂)/(n d),  ∂E/∂y_j = 2(m₂ − m₁)/(m d)
//!   upper E = (‖m₁ − m₂‖² + s₁ − ‖m₁‖² + s₂ − ‖m₂‖²) / d
//!                                         ∂E/∂x_i = 2(x_i − m₂)/(n d), ∂E/∂y_j = 2(y_j − m₁)/(m d)
//! ```
//! `projected_cv` and `cv_expectation` serve the large-d path of
//! [`crate::control_variates::control_variate_terms`] (d > 16, uniform weights), where the
//! Gaussian terms come from the projected rows and the points' first moments.
//!
//! The reference twins are the Burn compositions beside each op ([`cv_combine_reference`],
//! [`projected_cv_reference`], [`cv_expectation_reference`]); the dispatch functions below use
//! them on devices without the fused kernels.

use burn::backend::{Backend, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::Tensor;

/// The backend extension: the fused control-variate ops (see the module documentation).
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait ControlVariateOps: Backend {
    /// `W [B, L], C [B, L], E [B, 1] → [B]`: `max(w̄ − γ̂ (C̄ − E), 0)`.
    fn cv_combine(
        w: FloatTensor<Self>,
        c: FloatTensor<Self>,
        expectation: FloatTensor<Self>,
        detach_gamma: bool,
    ) -> FloatTensor<Self>;

    /// `[B, L, n] × [B, L, m] → [B, L]`: the control variate from uniformly weighted
    /// projected rows.
    fn projected_cv(px: FloatTensor<Self>, py: FloatTensor<Self>, upper: bool)
    -> FloatTensor<Self>;

    /// `[B, n, d] × [B, m, d] → [B, 1]`: E\[C\] under θ ~ Unif(S^{d−1}), uniform weights.
    fn cv_expectation(x: FloatTensor<Self>, y: FloatTensor<Self>, upper: bool)
    -> FloatTensor<Self>;
}

/// The CV estimate `[B]` from W `[B, L]`, C `[B, L]` and E\[C\] `[B, 1]`; differentiable in all
/// three (γ̂ held constant with `detach_gamma`). One fused op on Flex, the Burn composition
/// [`cv_combine_reference`] elsewhere.
pub fn cv_combine(
    w: Tensor<2>,
    c: Tensor<2>,
    expectation: Tensor<2>,
    detach_gamma: bool,
) -> Tensor<1> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&w.device()) {
        return Tensor::from_dispatch(<Dispatch as ControlVariateOps>::cv_combine(
            w.into_dispatch(),
            c.into_dispatch(),
            expectation.into_dispatch(),
            detach_gamma,
        ));
    }
    cv_combine_reference(w, c, expectation, detach_gamma)
}

/// The control variate `[B, L]` from projected rows `[B, L, n]`, `[B, L, m]` of uniformly
/// weighted measures: `(μ_x − μ_y)²`, plus the row variances `v_x + v_y` when `upper`.
/// Fused on Flex, [`projected_cv_reference`] elsewhere.
pub fn projected_cv(px: Tensor<3>, py: Tensor<3>, upper: bool) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&px.device()) {
        return Tensor::from_dispatch(<Dispatch as ControlVariateOps>::projected_cv(
            px.into_dispatch(),
            py.into_dispatch(),
            upper,
        ));
    }
    projected_cv_reference(px, py, upper)
}

/// E\[C\] `[B, 1]` of the lower (`upper = false`) or upper control variate of uniformly
/// weighted point sets `[B, n, d]`, `[B, m, d]`. Fused on Flex (one pass over each set),
/// [`cv_expectation_reference`] elsewhere.
pub fn cv_expectation(x: Tensor<3>, y: Tensor<3>, upper: bool) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&x.device()) {
        return Tensor::from_dispatch(<Dispatch as ControlVariateOps>::cv_expectation(
            x.into_dispatch(),
            y.into_dispatch(),
            upper,
        ));
    }
    cv_expectation_reference(x, y, upper)
}

/// The reference twin of [`cv_combine`]: the composition of Burn ops
/// `max(W̄ − γ̂ (C̄ − E), 0)`, `γ̂ = Cov̂(W, C) / (Var̂(C) + 1e-24)` (γ̂ detached with
/// `detach_gamma`). `W [B, L], C [B, L], E [B, 1] → [B]`.
pub fn cv_combine_reference(
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

/// The reference twin of [`projected_cv`]: `(μ_x − μ_y)²` (lower), plus the row variances
/// `v_x + v_y` (upper), from uniformly weighted rows `[B, L, n]`, `[B, L, m]` → `[B, L]`.
pub fn projected_cv_reference(px: Tensor<3>, py: Tensor<3>, upper: bool) -> Tensor<2> {
    let mean_x = px.clone().mean_dim(2); // [B, L, 1]
    let mean_y = py.clone().mean_dim(2);
    let c = (mean_x.clone() - mean_y.clone()).square();
    let c = if upper {
        let var_x = (px - mean_x).square().mean_dim(2);
        let var_y = (py - mean_y).square().mean_dim(2);
        c + var_x + var_y
    } else {
        c
    };
    c.squeeze_dim::<2>(2)
}

/// The reference twin of [`cv_expectation`]: `‖m₁ − m₂‖²/d` (lower),
/// `(‖m₁ − m₂‖² + tr Σ₁ + tr Σ₂)/d` with `tr Σ = s − ‖m‖²` (upper), for uniformly weighted
/// `[B, n, d]`, `[B, m, d]` → `[B, 1]`.
pub fn cv_expectation_reference(x: Tensor<3>, y: Tensor<3>, upper: bool) -> Tensor<2> {
    let [b, _, d] = x.dims();
    let (mx, my) = (super::moments_reference(x), super::moments_reference(y)); // [B, d + 1]
    let (m1, s1) = (mx.clone().slice([0..b, 0..d]), mx.slice([0..b, d..d + 1]));
    let (m2, s2) = (my.clone().slice([0..b, 0..d]), my.slice([0..b, d..d + 1]));
    let gap_sq = (m1.clone() - m2.clone()).square().sum_dim(1); // [B, 1]
    let total = if upper {
        gap_sq + (s1 - m1.square().sum_dim(1)) + (s2 - m2.square().sum_dim(1))
    } else {
        gap_sq
    };
    total.mul_scalar(1.0 / d as f64)
}

#[cfg(feature = "flex")]
mod flex_impl;
