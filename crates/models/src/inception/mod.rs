//! The FID Inception-v3 (the `pt_inception-2015-12-05` network of pytorch-fid / TTUR) and the
//! metrics computed from it: Fréchet Inception Distance and Inception Score.

pub mod blocks;
pub mod metrics;
pub mod network;

pub use metrics::{FeatureStats, frechet_distance, inception_score};
pub use network::{FidInception, InceptionOutput};
