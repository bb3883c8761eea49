//! SNGAN ResNet generator.
//!
//! ```text
//! z [B, latent] → Linear → [B, ch, 4, 4] → GenBlock ×n (each ×2) → [B, ch, S, S]
//!               → BN → ReLU → conv3×3 (ch → 3) → tanh → [B, 3, S, S]
//! n = 3 for S = 32 (CIFAR-10), 4 for S = 64 (CelebA); ch = 256, latent = 128 in the paper.
//! ```

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::Resolution;
use super::blocks::GenBlock;
use super::spectral_norm::{SnConv2d, SnLinear};

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
    /// Side of the first feature map (4).
    pub bottom_width: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::R32,
            latent: 128,
            channels: 256,
            bottom_width: 4,
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

    /// Builds the generator (Xavier-uniform weights, zero biases, BN γ = 1, β = 0).
    pub fn init(&self, device: &Device) -> Generator {
        let ch = self.channels;
        Generator {
            l1: SnLinear::new(
                self.latent,
                self.bottom_width * self.bottom_width * ch,
                true,
                false,
                device,
            ),
            blocks: (0..self.blocks())
                .map(|_| GenBlock::new(ch, ch, device))
                .collect(),
            bn: BatchNormConfig::new(ch).init(device),
            out: SnConv2d::new(ch, 3, 3, 1, false, device),
            channels: ch,
            bottom_width: self.bottom_width,
        }
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
        tanh(self.out.forward(relu(self.bn.forward(h)))) // [B, 3, S, S]
    }
}
