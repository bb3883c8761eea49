//! One-dimensional Wasserstein distances W_p^p between projected measures, row by row.
//!
//! For measures on R with quantile functions F⁻¹, G⁻¹:
//! ```text
//! W_p^p(μ, ν) = ∫₀¹ |F⁻¹(q) − G⁻¹(q)|^p dq
//! ```
//! * equal sizes, uniform weights: W_p^p = (1/n) Σ_k |x_(k) − y_(k)|^p with x_(k), y_(k) the
//!   sorted values ([`wpp_sorted`]; the fast kernel in [`crate::kernel`] computes the same);
//! * general sizes and weights: merge the two cumulative weight vectors and integrate the
//!   piecewise-constant quantile difference ([`wpp_quantile`]), exactly as POT's
//!   `wasserstein_1d` (Flamary et al., POT, JMLR 2021).
//!
//! Shapes: rows `[R, n]` and `[R, m]` (R = B·L projections), weights `[R, n]` / `[R, m]`
//! normalised to sum to 1 per row; the result is `[R]`.
//! Everything is a composition of differentiable Burn ops (sort, gather, cumsum), so gradients
//! flow to the values and, through the merged cumulative weights, to the weights.

use burn::tensor::Tensor;

/// W_p^p between rows of equal length with uniform weights: `[R, n] × [R, n] → [R]`, as the
/// plain composition sort, subtract, |·|^p, mean ([`crate::kernel::sorted_wpp_reference`]).
/// [`crate::kernel::sorted_wpp`] computes the same with the fused kernel where there is one.
pub fn wpp_sorted(px: Tensor<2>, py: Tensor<2>, p: f64) -> Tensor<1> {
    crate::kernel::sorted_wpp_reference(px, py, p)
}

/// W_p^p between weighted rows of any lengths: `[R, n], [R, m]` with weights of the same
/// shapes (each row summing to 1) → `[R]`, by the merge of the cumulative weights in the
/// module doc ([`crate::kernel::quantile_wpp_rows`]); differentiable in values and weights.
pub fn wpp_quantile(
    px: Tensor<2>,
    py: Tensor<2>,
    wx: Tensor<2>,
    wy: Tensor<2>,
    p: f64,
) -> Tensor<1> {
    crate::kernel::quantile_wpp_rows(px, py, wx, wy, p)
}
