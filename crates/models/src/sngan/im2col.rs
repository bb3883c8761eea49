//! 2-D convolution (stride 1, square kernel, symmetric zero padding) as one matrix product over
//! an explicit im2col matrix, so that its backward is two more matrix products.
//!
//! ```text
//! x [B, C, H, W] → pad p → the k² shifted windows x_p[:, :, i:i+H', j:j+W'] (i, j < k)
//!   → cols [B·H'·W', C·k²]  (column c·k² + i·k + j)          H' = H + 2p − k + 1
//! y = cols · W_mat^T + b,  W_mat = weight.reshape([O, C·k²])  → [B·H'·W', O] → [B, O, H', W']
//! backward:  ∂W_mat = ∂yᵀ · cols,  ∂cols = ∂y · W_mat,  ∂x = Σ_windows (shifted ∂cols), ∂b = Σ ∂y
//! ```
//! Why: on the flex backend Burn computes a convolution's weight gradient as a convolution whose
//! kernel is the whole output gradient (`burn-backend` `conv2d_weight_grad_no_groups`), i.e. a
//! matrix product with N = k² columns streaming a `[O, B·H'·W']` operand once per input channel
//! — memory-bound, and most of an SNGAN step. Here both backward products are large
//! GEMMs. The cost is memory: `cols` is k² times the input and autodiff keeps it for the
//! backward. The reference twin is Burn's `conv2d`; `tests` check they agree in value and
//! gradients.

use burn::tensor::Tensor;
use burn::tensor::ops::PadMode;

/// `conv2d(x, weight, bias)` with stride 1, dilation 1, padding `pad` on every side.
///
/// # Shapes
/// `x` `[B, C, H, W]`, `weight` `[O, C, k, k]`, `bias` `[O]` → `[B, O, H + 2·pad − k + 1, …]`.
pub fn conv2d_im2col(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    pad: usize,
) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let [o, _, k, _] = weight.dims();
    let (ho, wo) = (h + 2 * pad + 1 - k, w + 2 * pad + 1 - k);
    let cols = if k == 1 && pad == 0 {
        x.permute([0, 2, 3, 1]).reshape([b * h * w, c]) // [B·H·W, C]
    } else {
        let xp = if pad > 0 {
            x.pad((pad, pad, pad, pad), PadMode::Constant(0.0))
        } else {
            x
        }; // [B, C, H + 2p, W + 2p]
        let windows: Vec<Tensor<4>> = (0..k * k)
            .map(|ij| {
                let (i, j) = (ij / k, ij % k);
                xp.clone().slice([0..b, 0..c, i..i + ho, j..j + wo]) // [B, C, H', W']
            })
            .collect();
        Tensor::stack::<5>(windows, 2) // [B, C, k², H', W']
            .permute([0, 3, 4, 1, 2])
            .reshape([b * ho * wo, c * k * k]) // [B·H'·W', C·k²]
    };
    let y = cols.matmul(weight.reshape([o, c * k * k]).transpose()); // [B·H'·W', O]
    let y = match bias {
        Some(bias) => y + bias.unsqueeze_dim::<2>(0),
        None => y,
    };
    y.reshape([b, ho, wo, o]).permute([0, 3, 1, 2]) // [B, O, H', W']
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Device, Distribution};

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec().unwrap()
    }

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert_eq!(a.len(), b.len());
        assert!(worst < 1e-5 * scale, "{what}: worst |Δ| {worst}, scale {scale}");
    }

    /// Values and gradients (x, weight, bias) of a loss Σ y ⊙ r against Burn's `conv2d`.
    #[test]
    fn matches_burn_conv2d_in_value_and_gradients() {
        let device = Device::flex().autodiff();
        device.seed(11);
        for (k, pad, with_bias) in [(3, 1, true), (1, 0, true), (3, 0, false), (3, 2, true)] {
            let x = Tensor::<4>::random([3, 4, 6, 5], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let w = Tensor::<4>::random([5, 4, k, k], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let bias = Tensor::<1>::random([5], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let bias = with_bias.then_some(bias);
            let ours = conv2d_im2col(x.clone(), w.clone(), bias.clone(), pad);
            let reference = conv2d(
                x.clone(),
                w.clone(),
                bias.clone(),
                ConvOptions::new([1, 1], [pad, pad], [1, 1], 1),
            );
            assert_eq!(ours.dims(), reference.dims());
            let r = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            let what = format!("k {k} pad {pad}");
            assert_close(
                &values(ours.clone().inner()),
                &values(reference.clone().inner()),
                &format!("{what} value"),
            );
            let g1 = ours.mul(r.clone()).sum().backward();
            let g2 = reference.mul(r).sum().backward();
            assert_close(
                &values(x.grad(&g1).unwrap()),
                &values(x.grad(&g2).unwrap()),
                &format!("{what} ∂x"),
            );
            assert_close(
                &values(w.grad(&g1).unwrap()),
                &values(w.grad(&g2).unwrap()),
                &format!("{what} ∂w"),
            );
            if let Some(bias) = &bias {
                assert_close(
                    &values(bias.grad(&g1).unwrap()),
                    &values(bias.grad(&g2).unwrap()),
                    &format!("{what} ∂b"),
                );
            }
        }
    }
}
