//! DiffusionNet (Sharp et al., TOG 2022) as used by EOT-Correspondence
//! (`networks/diffusion_network.py`): per-channel learned heat diffusion in the
//! Laplace–Beltrami eigenbasis, spatial-gradient features, per-vertex MLPs.

mod block;
mod diffusion;
mod gradient_features;
mod network;
mod operators;

pub use block::{DiffusionNetBlock, DiffusionNetBlockConfig};
pub use diffusion::{LearnedTimeDiffusion, LearnedTimeDiffusionConfig};
pub use gradient_features::{SpatialGradientFeatures, SpatialGradientFeaturesConfig};
pub use network::{DiffusionNet, DiffusionNetConfig};
pub use operators::MeshOperators;
