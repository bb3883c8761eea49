//! SNGAN (the `sngan.pytorch` ResNet design used by the CV-SW paper) for 32² and 64² images:
//! spectral normalisation, generator and discriminator residual blocks, the two networks,
//! and an exponential moving average of a module's weights.

pub mod blocks;
pub mod discriminator;
pub mod ema;
pub mod generator;
pub mod init;
pub mod spectral_norm;

pub use discriminator::{Discriminator, DiscriminatorConfig, DiscriminatorOutput};
pub use ema::ema_update;
pub use generator::{Generator, GeneratorConfig};
pub use init::ConvInit;
pub use spectral_norm::{SnConv2d, SnLinear, SpectralNorm};

use serde::{Deserialize, Serialize};

/// Which image size the pair of networks is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// 32² (CIFAR-10): G with 3 up-blocks from 4², D with 4 blocks, 2 of them down-sampling.
    #[serde(rename = "32")]
    R32,
    /// 64² (CelebA): G with 4 up-blocks from 4², D with 5 blocks, 3 of them down-sampling.
    #[serde(rename = "64")]
    R64,
}

impl Resolution {
    /// Side of the images in pixels.
    pub fn size(self) -> usize {
        match self {
            Resolution::R32 => 32,
            Resolution::R64 => 64,
        }
    }

    /// Parses `32` or `64`.
    pub fn from_size(size: usize) -> Option<Self> {
        match size {
            32 => Some(Resolution::R32),
            64 => Some(Resolution::R64),
            _ => None,
        }
    }
}

/// A network configuration that cannot be built; names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field of the config (e.g. `bottom_width`).
    pub field: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
