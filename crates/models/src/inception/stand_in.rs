//! A tiny network with the FID Inception's interface, for checking a scoring pipeline (tests,
//! smoke runs) without the 100 MB of Inception weights. Its FID and IS mean nothing.
//!
//! ```text
//! x [B, 3, H, W] → conv3×3/2 (3 → 8) → ReLU → conv3×3/2 (8 → 16) → ReLU → mean over pixels
//!   → features [B, 16] → logits = features · W [B, 10]
//! every weight w_i = √(2 / fan_in) · sin(0.37·i + φ), φ fixed per layer: no RNG, no file.
//! ```

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

use super::InceptionOutput;
use super::scorer::ScoreNetwork;

/// Feature length of [`StandIn`].
pub const STAND_IN_FEATURES: usize = 16;
/// Classes of [`StandIn`].
pub const STAND_IN_CLASSES: usize = 10;

/// The stand-in scoring network.
#[derive(Debug, Clone)]
pub struct StandIn {
    c1: Tensor<4>,
    c2: Tensor<4>,
    fc: Tensor<2>,
}

fn formula(n: usize, fan_in: usize, phase: f64) -> Vec<f32> {
    (0..n)
        .map(|i| ((2.0 / fan_in as f64).sqrt() * (0.37 * i as f64 + phase).sin()) as f32)
        .collect()
}

impl StandIn {
    /// The network on `device` (deterministic weights).
    pub fn new(device: &Device) -> Self {
        let f = STAND_IN_FEATURES;
        Self {
            c1: Tensor::from_data(
                TensorData::new(formula(8 * 27, 27, 0.1), [8, 3, 3, 3]),
                device,
            ),
            c2: Tensor::from_data(
                TensorData::new(formula(f * 72, 72, 1.3), [f, 8, 3, 3]),
                device,
            ),
            fc: Tensor::from_data(
                TensorData::new(
                    formula(f * STAND_IN_CLASSES, f, 2.9)
                        .iter()
                        .map(|v| 8.0 * v)
                        .collect::<Vec<_>>(),
                    [f, STAND_IN_CLASSES],
                ),
                device,
            ),
        }
    }

    /// # Shapes
    /// `x` `[B, 3, H, W]` → features `[B, 16]`, logits `[B, 10]`.
    pub fn forward(&self, x: Tensor<4>) -> InceptionOutput {
        let opts = || ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
        let h = conv2d(x, self.c1.clone(), None, opts()).clamp_min(0.0); // [B, 8, H/2, W/2]
        let h = conv2d(h, self.c2.clone(), None, opts()).clamp_min(0.0); // [B, 16, H/4, W/4]
        let pool3 = h.mean_dim(2).mean_dim(3).flatten::<2>(1, 3); // [B, 16]
        InceptionOutput {
            logits: pool3.clone().matmul(self.fc.clone()), // [B, 10]
            pool3,
        }
    }
}

impl ScoreNetwork for StandIn {
    fn score_forward(&self, x: Tensor<4>) -> InceptionOutput {
        self.forward(x)
    }
    fn feature_dim(&self) -> usize {
        STAND_IN_FEATURES
    }
    fn classes(&self) -> usize {
        STAND_IN_CLASSES
    }
}
