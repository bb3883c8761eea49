//! Residual blocks of SNGAN.
//!
//! ```text
//! GenBlock   x → BN → ReLU → up×2 → conv3×3 → BN → ReLU → conv3×3   (+ up×2 → conv1×1 of x)
//! DisBlock   x → ReLU → conv3×3 → ReLU → conv3×3 [→ avgpool2]        (+ conv1×1 [→ avgpool2])
//! First      x → conv3×3 → ReLU → conv3×3 → avgpool2                  (+ avgpool2 → conv1×1)
//! ```
//! Up-sampling is nearest-neighbour (each pixel repeated 2×2), down-sampling a 2×2 mean. The
//! discriminator's convolutions are spectrally normalised; the generator's are not.

use burn::module::Module;
use burn::nn::BatchNorm;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::init::{self, ConvInit};
use super::spectral_norm::SnConv2d;
use crate::norm::batch_norm;

pub use crate::resample::{downsample2, upsample2};

/// Generator block: always up-samples, learnable 1×1 shortcut.
#[derive(Module, Debug)]
pub struct GenBlock {
    b1: BatchNorm,
    c1: SnConv2d,
    b2: BatchNorm,
    c2: SnConv2d,
    shortcut: SnConv2d,
}

impl GenBlock {
    /// `c_in → c_out` channels, kernels initialised by `init` (see [`super::init`]).
    pub fn new(c_in: usize, c_out: usize, init: ConvInit, device: &Device) -> Self {
        Self {
            b1: init::batch_norm(c_in, device),
            c1: SnConv2d::new(c_in, c_out, 3, 1, false, init, device),
            b2: init::batch_norm(c_out, device),
            c2: SnConv2d::new(c_out, c_out, 3, 1, false, init, device),
            shortcut: SnConv2d::new(c_in, c_out, 1, 0, false, init, device),
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, c_out, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = relu(batch_norm(&self.b1, x.clone()));
        let h = self.c1.forward(upsample2(h));
        let h = self.c2.forward(relu(batch_norm(&self.b2, h)));
        h + self.shortcut.forward(upsample2(x))
    }
}

/// Discriminator block (spectrally normalised). `first` is SNGAN's "optimized" first block
/// (no leading ReLU, pooling before the shortcut conv, always down-samples).
#[derive(Module, Debug)]
pub struct DisBlock {
    c1: SnConv2d,
    c2: SnConv2d,
    shortcut: Option<SnConv2d>,
    downsample: bool,
    first: bool,
}

impl DisBlock {
    /// SNGAN's first block `c_in → c_out`, down-sampling.
    pub fn first(c_in: usize, c_out: usize, init: ConvInit, device: &Device) -> Self {
        Self {
            c1: SnConv2d::new(c_in, c_out, 3, 1, true, init, device),
            c2: SnConv2d::new(c_out, c_out, 3, 1, true, init, device),
            shortcut: Some(SnConv2d::new(c_in, c_out, 1, 0, true, init, device)),
            downsample: true,
            first: true,
        }
    }

    /// A later block `c_in → c_out`; the shortcut is learnable when channels change or it
    /// down-samples, the identity otherwise.
    pub fn new(
        c_in: usize,
        c_out: usize,
        downsample: bool,
        init: ConvInit,
        device: &Device,
    ) -> Self {
        Self {
            c1: SnConv2d::new(c_in, c_in, 3, 1, true, init, device),
            c2: SnConv2d::new(c_in, c_out, 3, 1, true, init, device),
            shortcut: (c_in != c_out || downsample)
                .then(|| SnConv2d::new(c_in, c_out, 1, 0, true, init, device)),
            downsample,
            first: false,
        }
    }

    /// The block's convolutions (`c1`, `c2`, then the shortcut when it has one).
    pub fn convs(&self) -> Vec<&SnConv2d> {
        let mut v = vec![&self.c1, &self.c2];
        v.extend(self.shortcut.as_ref());
        v
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, c_out, H', W']`, H' = H/2 when down-sampling.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pool = |t: Tensor<4>| if self.downsample { downsample2(t) } else { t };
        let h = if self.first {
            x.clone()
        } else {
            relu(x.clone())
        };
        let h = pool(self.c2.forward(relu(self.c1.forward(h))));
        let skip = match (&self.shortcut, self.first) {
            (Some(conv), true) => conv.forward(downsample2(x)),
            (Some(conv), false) => pool(conv.forward(x)),
            (None, _) => x,
        };
        h + skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn upsample_repeats_pixels_and_downsample_averages_them() {
        let device = crate::test_device();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..12).map(|v| v as f32).collect::<Vec<_>>(), [1, 2, 2, 3]),
            &device,
        );
        let up = upsample2(x.clone());
        assert_eq!(up.dims(), [1, 2, 4, 6]);
        let u: Vec<f32> = up.clone().into_data().try_to_vec::<f32>().unwrap();
        for c in 0..2 {
            for i in 0..4 {
                for j in 0..6 {
                    assert_eq!(u[(c * 4 + i) * 6 + j], (c * 6 + (i / 2) * 3 + j / 2) as f32);
                }
            }
        }
        let back: Vec<f32> = downsample2(up).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(back, (0..12).map(|v| v as f32).collect::<Vec<_>>());
    }
}
