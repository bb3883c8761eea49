//! What FID and IS need from a network: pool3-like features and class logits of a batch.
//!
//! [`super::FidInception`] is the network of the paper's numbers; [`super::StandIn`] has the
//! same interface at a tiny size, for checking a pipeline without the Inception weights.

use burn::tensor::Tensor;

use super::{FidInception, InceptionOutput};

/// A network that scores images: features (FID) and class logits (IS).
pub trait ScoreNetwork {
    /// # Shapes
    /// `x` `[B, 3, H, W]` in [−1, 1] → features `[B, feature_dim]`, logits `[B, classes]`.
    fn score_forward(&self, x: Tensor<4>) -> InceptionOutput;
    /// Length of the feature vector (2048 for pool3).
    fn feature_dim(&self) -> usize;
    /// Number of classes (1008 for the FID Inception).
    fn classes(&self) -> usize;
}

impl ScoreNetwork for FidInception {
    fn score_forward(&self, x: Tensor<4>) -> InceptionOutput {
        self.forward(x)
    }
    fn feature_dim(&self) -> usize {
        2048
    }
    fn classes(&self) -> usize {
        1008
    }
}
