//! The plain-Burn reference twins of the 1-D kernels ([`super::sorted_wpp`],
//! [`super::weighted_wpp`]): compositions of differentiable Burn ops (sort, gather, cumsum),
//! used on backends without a fused kernel and as the twins the fused kernels are tested
//! against. The math is in [`crate::one_d`].

use burn::tensor::{Int, Tensor};

/// `|t|^p` with the cheap exact forms for p = 1 and p = 2 (these also avoid `pow`, which
/// Vulkan lacks in f64).
fn abs_pow(t: Tensor<2>, p: f64) -> Tensor<2> {
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
/// [`super::sorted_wpp`] (which uses the device sorts of [`super::sort_rows_values`] on
/// CubeCL devices).
pub fn sorted_wpp_reference(px: Tensor<2>, py: Tensor<2>, p: f64) -> Tensor<1> {
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
pub fn quantile_wpp_rows(
    px: Tensor<2>,
    py: Tensor<2>,
    wx: Tensor<2>,
    wy: Tensor<2>,
    p: f64,
) -> Tensor<1> {
    let [r, n] = px.dims();
    let m = py.dims()[1];
    let (sx, ix) = super::row_sort::sort_rows(px);
    let (sy, iy) = super::row_sort::sort_rows(py);
    let cx = wx.gather(1, ix).cumsum(1);
    let cy = wy.gather(1, iy).cumsum(1);
    let (levels, origin) = super::row_sort::sort_rows(Tensor::cat(vec![cx, cy], 1)); // [R, n+m]
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

/// The reference twin of [`super::weighted_wpp`]: values `[R, n]`, `[R, m]` and weights
/// `[G, n]`, `[G, m]` shared by groups of R/G consecutive rows, expanded to every row and
/// merged by [`quantile_wpp_rows`] → `[R]`.
pub fn weighted_wpp_reference(
    px: Tensor<2>,
    py: Tensor<2>,
    wx: Tensor<2>,
    wy: Tensor<2>,
    p: f64,
) -> Tensor<1> {
    let (rows, groups) = (px.dims()[0], wx.dims()[0]);
    let expand = |w: Tensor<2>| {
        let len = w.dims()[1];
        w.unsqueeze_dim::<3>(1)
            .expand([groups, rows / groups, len])
            .reshape([rows, len])
    };
    quantile_wpp_rows(px, py, expand(wx), expand(wy), p)
}
