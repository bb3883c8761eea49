//! SNGAN ResNet discriminator (spectral norm on every layer).
//!
//! ```text
//! x [B, 3, S, S] → First(3 → ch, ↓) → DisBlock(↓)… → DisBlock… → features [B, ch, 8, 8]
//!               → ReLU → sum over pixels [B, ch] → Linear(ch → 1, no bias) → D(x) [B, 1]
//! S = 32: 4 blocks, the first 2 down-sample;  S = 64: 5 blocks, the first 3 down-sample.
//! ```
//! The generator loss of CV-SW uses `concat[flatten(features), D(x)]`, of size ch·64 + 1
//! (8193 for ch = 128), so [`Discriminator::forward`] returns both.

use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::blocks::DisBlock;
use super::init::{ConvInit, materialize};
use super::{ConfigError, Resolution};
use super::spectral_norm::SnLinear;

/// Configuration of [`Discriminator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscriminatorConfig {
    /// Image size: 32 or 64.
    pub resolution: Resolution,
    /// Channels of every block (`df_dim`, 128).
    pub channels: usize,
    /// Initialisation of the kernels: `pytorch_default`, what the CV-SW code's spectrally
    /// normalised kernels start from (its `weights_init` misses them, see [`super::init`]).
    pub conv_init: ConvInit,
}

impl Default for DiscriminatorConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::R32,
            channels: 128,
            conv_init: ConvInit::PytorchDefault,
        }
    }
}

impl DiscriminatorConfig {
    /// (blocks, down-sampling blocks) for the resolution.
    fn layout(&self) -> (usize, usize) {
        match self.resolution {
            Resolution::R32 => (4, 2),
            Resolution::R64 => (5, 3),
        }
    }

    /// Length of the feature vector `concat[flatten(features), D(x)]`.
    pub fn feature_dim(&self) -> usize {
        let (_, down) = self.layout();
        let side = self.resolution.size() >> down;
        self.channels * side * side + 1
    }

    /// Checks that `channels` is positive (the layout follows from the resolution).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.channels == 0 {
            return Err(ConfigError::new("channels", "must be at least 1"));
        }
        Ok(())
    }

    /// Builds the discriminator: kernels by `conv_init`, biases and the final linear layer
    /// PyTorch's default (see [`super::init`]).
    pub fn init(&self, device: &Device) -> Discriminator {
        let (n, down) = self.layout();
        let ch = self.channels;
        let mut blocks = vec![DisBlock::first(3, ch, self.conv_init, device)];
        for i in 1..n {
            blocks.push(DisBlock::new(ch, ch, i < down, self.conv_init, device));
        }
        materialize(Discriminator {
            blocks,
            l5: SnLinear::new(ch, 1, false, true, device),
        })
    }
}

/// What the discriminator computes for a batch.
#[derive(Debug, Clone)]
pub struct DiscriminatorOutput {
    /// The last block's feature map (before the final ReLU) `[B, ch, 8, 8]`.
    pub features: Tensor<4>,
    /// The critic value `[B, 1]`.
    pub output: Tensor<2>,
}

impl DiscriminatorOutput {
    /// `concat[flatten(features), D(x)]` `[B, ch·64 + 1]`: the generator loss's feature space.
    pub fn feature_vector(&self) -> Tensor<2> {
        Tensor::cat(
            vec![
                self.features.clone().flatten::<2>(1, 3),
                self.output.clone(),
            ],
            1,
        )
    }
}

/// The discriminator.
#[derive(Module, Debug)]
pub struct Discriminator {
    blocks: Vec<DisBlock>,
    l5: SnLinear,
}

impl Discriminator {
    /// # Shapes
    /// `x` `[B, 3, S, S]` → features `[B, ch, 8, 8]`, output `[B, 1]`.
    pub fn forward(&self, x: Tensor<4>) -> DiscriminatorOutput {
        let mut h = x;
        for block in &self.blocks {
            h = block.forward(h);
        }
        let pooled = relu(h.clone()).sum_dim(2).sum_dim(3).flatten::<2>(1, 3); // [B, ch]
        DiscriminatorOutput {
            output: self.l5.forward(pooled), // [B, 1]
            features: h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sngan::GeneratorConfig;
    use burn::tensor::Distribution;

    #[test]
    fn shapes_follow_the_paper_for_32_and_64_pixels() {
        let device = crate::test_device();
        for (res, size) in [(Resolution::R32, 32), (Resolution::R64, 64)] {
            let g = GeneratorConfig {
                resolution: res,
                channels: 8,
                latent: 16,
                ..Default::default()
            }
            .init(&device);
            let d_cfg = DiscriminatorConfig {
                resolution: res,
                channels: 8,
                ..Default::default()
            };
            let d = d_cfg.init(&device);
            let z = Tensor::<2>::random([3, 16], Distribution::Normal(0.0, 1.0), &device);
            let x = g.forward(z);
            assert_eq!(x.dims(), [3, 3, size, size]);
            let out = d.forward(x);
            assert_eq!(out.features.dims(), [3, 8, 8, 8]);
            assert_eq!(out.output.dims(), [3, 1]);
            assert_eq!(out.feature_vector().dims(), [3, d_cfg.feature_dim()]);
        }
        assert_eq!(DiscriminatorConfig::default().feature_dim(), 8193);
    }
}
