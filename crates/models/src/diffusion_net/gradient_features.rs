//! Spatial-gradient features (official `SpatialGradientFeatures`, with gradient rotations).
//!
//! ```text
//! g = (gx, gy) = (Gx f, Gy f)                          per channel, in each vertex's frame
//! b_re = A_re gx − A_im gy
//! b_im = A_re gx + A_im gy
//! out  = tanh(gx ⊙ b_re + gy ⊙ b_im)
//! ```
//! Note: `b_im = A_re gx + A_im gy` is what EOT-Correspondence's
//! `networks/diffusion_network.py` computes; the original DiffusionNet has
//! `A_re gy + A_im gx` (a complex product). We follow the EOT code.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// Configuration of [`SpatialGradientFeatures`].
#[derive(Config, Debug)]
pub struct SpatialGradientFeaturesConfig {
    /// Number of channels C.
    pub channels: usize,
}

impl SpatialGradientFeaturesConfig {
    /// Two bias-free `C × C` layers with PyTorch's default initialisation.
    pub fn init(&self, device: &Device) -> SpatialGradientFeatures {
        let lin = || {
            LinearConfig::new(self.channels, self.channels)
                .with_bias(false)
                .init(device)
        };
        SpatialGradientFeatures {
            a_re: lin(),
            a_im: lin(),
        }
    }
}

/// Gradient dot-product features.
#[derive(Module, Debug)]
pub struct SpatialGradientFeatures {
    a_re: Linear,
    a_im: Linear,
}

impl SpatialGradientFeatures {
    /// # Shapes
    /// `gx`, `gy` `[V, C]` → `[V, C]`.
    pub fn forward(&self, gx: Tensor<2>, gy: Tensor<2>) -> Tensor<2> {
        let re_x = self.a_re.forward(gx.clone());
        let im_y = self.a_im.forward(gy.clone());
        let b_re = re_x.clone() - im_y.clone();
        let b_im = re_x + im_y;
        (gx * b_re + gy * b_im).tanh()
    }
}
