//! Functional maps between two meshes and the losses of EOT-Correspondence (Le et al.,
//! CVPR 2024; official code Tungthanhlee/EOT-Correspondence, built on ULRSSM):
//! the regularised functional-map solver with the resolvent mask, the SURFMNet
//! regularisers, the soft-permutation alignment, the SW feature loss, log-domain Sinkhorn
//! for the test-time refinement, point maps and the geodesic-error metric.

mod clip;
mod losses;
mod metrics;
mod objective;
mod permutation;
mod resolvent;
mod sinkhorn;
mod solver;
mod sw_feature;

pub use clip::clip_grad_norm;
pub use losses::{SurfmnetWeights, squared_frobenius, surfmnet_loss};
pub use metrics::{geodesic_errors, pck_curve};
pub use objective::{
    ObjectiveConfig, PairLosses, PairShape, PlanKind, pair_objective, predict_pointmap,
};
pub use permutation::{estimated_fmap, fmap_to_pointmap, l2_normalize_rows, soft_permutation};
pub use resolvent::resolvent_mask;
pub use sinkhorn::{
    SINKHORN_ITERATIONS, SINKHORN_SIGMA, feature_distances, sinkhorn_log, sinkhorn_reference,
};
pub use solver::{FMAP_GAMMA, FMAP_LAMBDA, regularized_fmap, regularized_fmap_reference};
pub use sw_feature::{SW_FEATURE_PROJECTIONS, SW_FEATURE_WEIGHT, sw_feature_loss};
