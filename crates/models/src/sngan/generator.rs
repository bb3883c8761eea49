//! SNGAN ResNet generator.
//!
//! ```text
//! z [B, latent] → Linear → [B, ch, 4, 4] → GenBlock ×n (each ×2) → [B, ch, S, S]
//!               → BN → ReLU → conv3×3 (ch → 3) → tanh → [B, 3, S, S]
//! n = 3 for S = 32 (CIFAR-10), 4 for S = 64 (CelebA); ch = 256, latent = 128 in the paper.
//! ```

use burn::module::Module;
use burn::nn::BatchNorm;
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::blocks::GenBlock;
use super::init::{ConvInit, batch_norm, materialize};
use super::spectral_norm::{SnConv2d, SnLinear};
use super::{ConfigError, Resolution};

/// Configuration of [`Generator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorConfig {
    /// Image size: 32 or 64.
    pub resolution: Resolution,
    /// Size of the noise z (128).
    pub latent: usize,
    /// Channels of every block (`gf_dim`, 256).
    pub channels: usize,
    /// Side of the first feature map (4; `bottom_width · 2^blocks` must be the resolution).
    pub bottom_width: usize,
    /// Initialisation of the kernels (`xavier_uniform`, CV-SW README: `--init_type
    /// xavier_uniform`; see [`super::init`]).
    pub conv_init: ConvInit,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::R32,
            latent: 128,
            channels: 256,
            bottom_width: 4,
            conv_init: ConvInit::XavierUniform,
        }
    }
}

impl GeneratorConfig {
    /// Up-sampling blocks needed to go from `bottom_width` to the resolution.
    pub fn blocks(&self) -> usize {
        match self.resolution {
            Resolution::R32 => 3,
            Resolution::R64 => 4,
        }
    }

    /// Checks that the sizes are positive and that `bottom_width · 2^blocks` is the resolution;
    /// the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, value) in [("latent", self.latent), ("channels", self.channels)] {
            if value == 0 {
                return Err(ConfigError::new(field, "must be at least 1"));
            }
        }
        let side = self.bottom_width.saturating_mul(1 << self.blocks());
        if side != self.resolution.size() {
            return Err(ConfigError::new(
                "bottom_width",
                format!(
                    "{} · 2^{} up-sampling blocks makes {side}×{side} images but resolution is {}; \
                     set bottom_width = 4 (sngan.pytorch's only size)",
                    self.bottom_width,
                    self.blocks(),
                    self.resolution.size()
                ),
            ));
        }
        Ok(())
    }

    /// Builds the generator with the initialisation of the CV-SW code (see [`super::init`]):
    /// kernels by `conv_init`, linear weights and all biases PyTorch's default, BN γ ~ N(1,
    /// 0.02²), β = 0. Call [`Self::validate`] first; a size that fails it panics in `forward`.
    pub fn init(&self, device: &Device) -> Generator {
        let ch = self.channels;
        materialize(Generator {
            l1: SnLinear::new(
                self.latent,
                self.bottom_width * self.bottom_width * ch,
                true,
                false,
                device,
            ),
            blocks: (0..self.blocks())
                .map(|_| GenBlock::new(ch, ch, self.conv_init, device))
                .collect(),
            bn: batch_norm(ch, device),
            out: SnConv2d::new(ch, 3, 3, 1, false, self.conv_init, device),
            channels: ch,
            bottom_width: self.bottom_width,
        })
    }
}

/// The generator. Batch norm uses batch statistics on an autodiff device (training) and the
/// running statistics otherwise (sampling).
#[derive(Module, Debug)]
pub struct Generator {
    l1: SnLinear,
    blocks: Vec<GenBlock>,
    bn: BatchNorm,
    out: SnConv2d,
    channels: usize,
    bottom_width: usize,
}

impl Generator {
    /// # Shapes
    /// `z` `[B, latent]` → images `[B, 3, S, S]` in (−1, 1).
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [b, _] = z.dims();
        let w = self.bottom_width;
        let mut h = self.l1.forward(z).reshape([b, self.channels, w, w]); // [B, ch, 4, 4]
        for block in &self.blocks {
            h = block.forward(h); // [B, ch, 2·side, 2·side]
        }
        tanh(self.out.forward(relu(crate::norm::batch_norm(&self.bn, h)))) // [B, 3, S, S]
    }
}
