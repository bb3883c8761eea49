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

use burn::tensor::{Int, Tensor};

/// `|t|^p` with the cheap exact forms for p = 1 and p = 2 (these also avoid `pow`, which
/// Vulkan lacks in f64).
pub(crate) fn abs_pow(t: Tensor<2>, p: f64) -> Tensor<2> {
    if p == 1.0 {
        t.abs()
    } else if p == 2.0 {
        t.square()
    } else {
        t.abs().powf_scalar(p)
    }
}

/// W_p^p between rows of equal length with uniform weights: `[R, n] × [R, n] → [R]`.
///
/// The plain composition (sort, subtract, |·|^p, mean). It is the reference twin of
/// [`crate::kernel::sorted_wpp`] and the path used on backends without the fused kernel.
pub fn wpp_sorted(px: Tensor<2>, py: Tensor<2>, p: f64) -> Tensor<1> {
    wpp_of_sorted(px.sort(1), py.sort(1), p)
}

/// `(1/n) Σ_k |sx_k − sy_k|^p` per row of already sorted rows: `[R, n] × [R, n] → [R]`.
pub(crate) fn wpp_of_sorted(sx: Tensor<2>, sy: Tensor<2>, p: f64) -> Tensor<1> {
    abs_pow(sx - sy, p).mean_dim(1).squeeze_dim(1)
}

/// W_p^p between weighted rows of any lengths: `[R, n], [R, m]` with weights of the same
/// shapes (each row summing to 1) → `[R]`.
///
/// ```text
/// c^x = cumsum(a_sorted), c^y = cumsum(b_sorted)        cumulative weights
/// q   = sort(c^x ∪ c^y)                                 merged quantile levels, [R, n+m]
/// i^x_k = #{ j : c^x_j < q_k }  (clipped to n−1)        searchsorted(c^x, q, left)
/// W_p^p = Σ_k (q_k − q_{k−1}) |x_(i^x_k) − y_(i^y_k)|^p, q_0 = 0
/// ```
/// `i^x_k` is read off the merge itself: the number of x-levels that come before position k.
/// Inside a run of equal levels this differs from searchsorted only where q_k − q_{k−1} = 0,
/// which contributes nothing, so the value equals POT's.
pub fn wpp_quantile(
    px: Tensor<2>,
    py: Tensor<2>,
    wx: Tensor<2>,
    wy: Tensor<2>,
    p: f64,
) -> Tensor<1> {
    let [r, n] = px.dims();
    let m = py.dims()[1];
    let (sx, ix) = crate::kernel::row_sort::sort_rows(px);
    let (sy, iy) = crate::kernel::row_sort::sort_rows(py);
    let cx = wx.gather(1, ix).cumsum(1);
    let cy = wy.gather(1, iy).cumsum(1);
    let (levels, origin) = crate::kernel::row_sort::sort_rows(Tensor::cat(vec![cx, cy], 1)); // [R, n+m]
    let from_x: Tensor<2, Int> = origin.lower_elem(n as i64).int();
    let from_y: Tensor<2, Int> = from_x.clone().neg().add_scalar(1);
    let before_x = from_x.clone().cumsum(1) - from_x;
    let before_y = from_y.clone().cumsum(1) - from_y;
    let qx = sx.gather(1, before_x.clamp(0, n as i64 - 1));
    let qy = sy.gather(1, before_y.clamp(0, m as i64 - 1));
    let previous = Tensor::cat(
        vec![
            levels.zeros_like().slice([0..r, 0..1]),
            levels.clone().slice([0..r, 0..(n + m - 1)]),
        ],
        1,
    );
    let delta = levels - previous;
    (delta * abs_pow(qx - qy, p)).sum_dim(1).squeeze_dim(1)
}
