//! 8-bit quantisation of generated images before scoring, as the CV-SW code does it.
//!
//! ```text
//! q = trunc(clamp(127.5·x + 127.5, 0, 255)) ∈ {0, …, 255}     (x ∈ [−1, 1] from tanh)
//! x̃ = q / 127.5 − 1                                            (the network's [−1, 1] input)
//! ```
//! khainb/CV-SW Generative_model/functions.py, `validate`:
//! `gen_net(z).mul_(127.5).add_(127.5).clamp_(0.0, 255.0)...to('cpu', torch.uint8)` — a float to
//! uint8 conversion truncates (here: floors, the values being ≥ 0), it does not round.
//! The map back to [−1, 1] is pytorch-fid's `2·(q/255) − 1`, the input convention of
//! [`super::FidInception`].

use burn::tensor::Tensor;

/// Quantises images in [−1, 1] to 8 bits by truncation and maps them back to [−1, 1].
///
/// # Shapes
/// `[B, C, H, W]` → `[B, C, H, W]`.
pub fn quantize_uint8(x: Tensor<4>) -> Tensor<4> {
    x.mul_scalar(127.5)
        .add_scalar(127.5)
        .clamp(0.0, 255.0)
        .floor()
        .div_scalar(127.5)
        .sub_scalar(1.0)
}

/// The 8-bit levels `q` themselves (0–255) of [`quantize_uint8`], for checks and PNGs.
///
/// # Shapes
/// `[B, C, H, W]` → `[B, C, H, W]`.
pub fn uint8_levels(x: Tensor<4>) -> Tensor<4> {
    x.mul_scalar(127.5)
        .add_scalar(127.5)
        .clamp(0.0, 255.0)
        .floor()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn quantisation_truncates_like_a_cast_to_uint8() {
        let device = Device::flex();
        // 127.5·x + 127.5 for each x: 0.999 → 254.87 (rounding: 255), −0.999 → 0.1275,
        // 0.003 → 127.88 (rounding: 128), 1.2 → 280.5 (clamped), −1.5 → −63.75 (clamped).
        let x = [0.999f32, -0.999, 0.003, 1.2, -1.5, 0.0, -1.0, 1.0];
        let want_q = [254.0f32, 0.0, 127.0, 255.0, 0.0, 127.0, 0.0, 255.0];
        let t = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [1, 2, 2, 2]), &device);
        let q: Vec<f32> = uint8_levels(t.clone()).into_data().try_to_vec().unwrap();
        assert_eq!(q, want_q);
        let back: Vec<f32> = quantize_uint8(t).into_data().try_to_vec().unwrap();
        for (b, q) in back.iter().zip(want_q) {
            assert!((b - (q / 127.5 - 1.0)).abs() < 1e-6, "{b} vs {q}");
        }
    }
}
