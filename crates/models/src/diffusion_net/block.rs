//! One DiffusionNet block (official `DiffusionNetBlock` with `MiniMLP`).
//!
//! ```text
//! d   = diffuse(x)                                        [V, C]
//! g   = gradient_features(Gx d, Gy d)                     [V, C]
//! h   = MLP([x, d, g])   3C → 128 → 128 → C, ReLU between, dropout(0.5) before the 2nd and 3rd layers
//! out = h + x
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::diffusion::{LearnedTimeDiffusion, LearnedTimeDiffusionConfig};
use super::gradient_features::{SpatialGradientFeatures, SpatialGradientFeaturesConfig};
use super::operators::MeshOperators;

/// Configuration of [`DiffusionNetBlock`].
#[derive(Config, Debug)]
pub struct DiffusionNetBlockConfig {
    /// Width C of the block.
    pub channels: usize,
    /// Hidden widths of the MLP (official default `[C, C]`).
    pub mlp_hidden: Vec<usize>,
    /// Dropout in the MLP (official `dropout=True`, p = 0.5).
    #[config(default = true)]
    pub dropout: bool,
}

impl DiffusionNetBlockConfig {
    /// Builds the block.
    pub fn init(&self, device: &Device) -> DiffusionNetBlock {
        let mut sizes = vec![3 * self.channels];
        sizes.extend(&self.mlp_hidden);
        sizes.push(self.channels);
        DiffusionNetBlock {
            diffusion: LearnedTimeDiffusionConfig::new(self.channels).init(device),
            gradient_features: SpatialGradientFeaturesConfig::new(self.channels).init(device),
            mlp: sizes
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
            dropout: DropoutConfig::new(if self.dropout { 0.5 } else { 0.0 }).init(),
        }
    }
}

/// Diffusion, gradient features and a residual MLP.
#[derive(Module, Debug)]
pub struct DiffusionNetBlock {
    /// The learned-time diffusion.
    pub diffusion: LearnedTimeDiffusion,
    gradient_features: SpatialGradientFeatures,
    mlp: Vec<Linear>,
    dropout: Dropout,
}

impl DiffusionNetBlock {
    /// Projects the diffusion times onto `t ≥ 1e-8`.
    pub fn clamp_times(mut self) -> Self {
        self.diffusion = self.diffusion.clamp_times();
        self
    }

    /// # Shapes
    /// `x` `[V, C]` → `[V, C]`.
    pub fn forward(&self, x: Tensor<2>, ops: &MeshOperators) -> Tensor<2> {
        let diffused = self.diffusion.forward(x.clone(), ops); // [V, C]
        let (gx, gy) = ops.gradient(diffused.clone()); // [V, C] each
        let grad = self.gradient_features.forward(gx, gy); // [V, C]
        let mut h = Tensor::cat(vec![x.clone(), diffused, grad], 1); // [V, 3C]
        let last = self.mlp.len() - 1;
        for (i, layer) in self.mlp.iter().enumerate() {
            if i > 0 {
                h = self.dropout.forward(h);
            }
            h = layer.forward(h);
            if i < last {
                h = relu(h);
            }
        }
        h + x
    }
}
