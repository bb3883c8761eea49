//! The FID Inception-v3 (the `pt_inception-2015-12-05` network of pytorch-fid / TTUR) and the
//! metrics computed from it: Fréchet Inception Distance and Inception Score; the 8-bit
//! quantisation applied to generated images first; a tiny stand-in with the same interface.

pub mod blocks;
pub mod metrics;
pub mod network;
pub mod quantize;
pub mod scorer;
pub mod stand_in;

pub use metrics::{FeatureStats, ScoreError, frechet_distance, inception_score};
pub use network::{FidInception, InceptionOutput};
pub use quantize::quantize_uint8;
pub use scorer::ScoreNetwork;
pub use stand_in::StandIn;
