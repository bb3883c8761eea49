//! The unsupervised objective of one shape pair and the point map of the official
//! inference (EOT-Correspondence `models/fmnet_model.py` `feed_data`, `_process_isometric`;
//! `adaptive_refinement_one.py` `refine`, `compute_correspondence`).
//!
//! ```text
//! C_xy, C_yx = regularised fmaps (λ = 100, γ = 0.5), both directions
//! training:    P_xy = softmax_row(f̂x f̂yᵀ/τ),  P_yx = softmax_row(f̂y f̂xᵀ/τ),  τ = 0.07
//! refinement:  P_xy, P_yx = log-Sinkhorn(‖fx − fy‖², σ = 0.1, 10 iterations)
//! L = w_bij bij + w_orth orth + w_lap lap                          (SURFMNet)
//!   + w_align (‖C_xy − Φyᵀ My P_yx Φx‖² + ‖C_yx − Φxᵀ Mx P_xy Φy‖²)
//!   + w_sw SW_2(fx, P_xy fy) [+ SW_2(P_yx fx, fy) in refinement, plans detached]
//! inference:   nn[y] = argmax_x f̂y·f̂x;  C_xy = Φyᵀ My Φx[nn];  p2p = fmap_to_pointmap(C_xy)
//! ```

use burn::tensor::{Int, Tensor, TensorData};

use super::losses::{SurfmnetWeights, squared_frobenius, surfmnet_loss};
use super::permutation::{estimated_fmap, fmap_to_pointmap, l2_normalize_rows, soft_permutation};
use super::sinkhorn::{feature_distances, sinkhorn_log};
use super::solver::regularized_fmap;
use super::sw_feature::sw_feature_loss;
use crate::diffusion_net::MeshOperators;

/// One shape of a pair: its operators (the functional-map basis) and host eigenvalues.
#[derive(Debug, Clone)]
pub struct PairShape {
    /// Operators with the functional-map basis (official `num_evecs: 200`).
    pub ops: MeshOperators,
    /// Eigenvalues `[K]` on the host.
    pub evals: Vec<f64>,
}

/// How the vertex plans of the alignment and SW terms are formed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlanKind {
    /// Training: row softmax of cosine similarity over τ (official `Similarity`, τ = 0.07).
    SoftPermutation {
        /// Temperature τ.
        tau: f64,
    },
    /// Refinement: log-domain Sinkhorn of squared feature distances (σ = 0.1, 10 iterations).
    Sinkhorn {
        /// Entropic σ.
        sigma: f64,
        /// Iterations.
        iterations: usize,
    },
}

/// Weights and constants of [`pair_objective`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectiveConfig {
    /// SURFMNet weights (official 1, 1, 0).
    pub surfmnet: SurfmnetWeights,
    /// Alignment weight (official `align_loss.loss_weight: 1.0`).
    pub align_weight: f64,
    /// SW weight (official 100; 0 disables the OT term).
    pub sw_weight: f64,
    /// SW projections (official 200).
    pub sw_projections: usize,
    /// Bidirectional SW with detached plans (official: refinement yes, training no).
    pub sw_bidirectional: bool,
    /// Fmap regulariser λ (official 100).
    pub lambda: f64,
    /// Resolvent exponent γ (official 0.5).
    pub gamma: f64,
    /// The plans.
    pub plan: PlanKind,
}

/// The terms of the objective, each `[1]`.
#[derive(Debug, Clone)]
pub struct PairLosses {
    /// Weighted SURFMNet.
    pub fmap: Tensor<1>,
    /// Weighted alignment.
    pub align: Tensor<1>,
    /// Weighted SW, when enabled.
    pub sw: Option<Tensor<1>>,
}

impl PairLosses {
    /// The sum of the terms.
    pub fn total(&self) -> Tensor<1> {
        let base = self.fmap.clone() + self.align.clone();
        match &self.sw {
            Some(sw) => base + sw.clone(),
            None => base,
        }
    }
}

/// The objective of a pair from the features `feat_x` `[Vx, C]`, `feat_y` `[Vy, C]`.
pub fn pair_objective(
    feat_x: Tensor<2>,
    feat_y: Tensor<2>,
    x: &PairShape,
    y: &PairShape,
    config: &ObjectiveConfig,
) -> sw_loss::Result<PairLosses> {
    let (ox, oy) = (&x.ops, &y.ops);
    let fmap = |fa: &Tensor<2>, fb: &Tensor<2>, a: &PairShape, b: &PairShape| {
        regularized_fmap(
            fa.clone(),
            fb.clone(),
            &a.evals,
            &b.evals,
            a.ops.evecs_trans.clone(),
            b.ops.evecs_trans.clone(),
            config.lambda,
            config.gamma,
        )
    };
    let c_xy = fmap(&feat_x, &feat_y, x, y);
    let c_yx = fmap(&feat_y, &feat_x, y, x);
    let fmap_loss = surfmnet_loss(
        c_xy.clone(),
        c_yx.clone(),
        &x.evals,
        &y.evals,
        config.surfmnet,
    );
    let (p_xy, p_yx) = match config.plan {
        PlanKind::SoftPermutation { tau } => (
            soft_permutation(feat_x.clone(), feat_y.clone(), tau),
            soft_permutation(feat_y.clone(), feat_x.clone(), tau),
        ),
        PlanKind::Sinkhorn { sigma, iterations } => sinkhorn_log(
            feature_distances(feat_x.clone(), feat_y.clone()),
            sigma,
            iterations,
        ),
    };
    let align = (squared_frobenius(
        c_xy,
        estimated_fmap(p_yx.clone(), ox.evecs.clone(), oy.evecs_trans.clone()),
    ) + squared_frobenius(
        c_yx,
        estimated_fmap(p_xy.clone(), oy.evecs.clone(), ox.evecs_trans.clone()),
    ))
    .mul_scalar(config.align_weight);
    let sw = if config.sw_weight > 0.0 {
        Some(if config.sw_bidirectional {
            sw_feature_loss(
                feat_x,
                feat_y,
                p_xy.detach(),
                Some(p_yx.detach()),
                config.sw_projections,
                config.sw_weight,
            )?
        } else {
            sw_feature_loss(
                feat_x,
                feat_y,
                p_xy,
                None,
                config.sw_projections,
                config.sw_weight,
            )?
        })
    } else {
        None
    };
    Ok(PairLosses {
        fmap: fmap_loss,
        align,
        sw,
    })
}

/// The official isometric inference: point map y → x `[Vy]`.
pub fn predict_pointmap(
    feat_x: Tensor<2>,
    feat_y: Tensor<2>,
    x: &MeshOperators,
    y: &MeshOperators,
) -> Vec<usize> {
    let vy = feat_y.dims()[0];
    let sim = l2_normalize_rows(feat_y).matmul(l2_normalize_rows(feat_x).transpose()); // [Vy, Vx]
    let nn: Tensor<1, Int> = sim.argmax(1).reshape([vy]);
    let c_xy = y.evecs_trans.clone().matmul(x.evecs.clone().select(0, nn)); // [K, K]
    let p2p = fmap_to_pointmap(c_xy, x.evecs.clone(), y.evecs.clone());
    let data: TensorData = p2p.into_data();
    data.convert::<i64>()
        .try_to_vec::<i64>()
        .expect("integer point map")
        .into_iter()
        .map(|i| i as usize)
        .collect()
}
