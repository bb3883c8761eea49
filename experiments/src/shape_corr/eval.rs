//! Evaluation of trained variants on test pairs, with and without the official test-time
//! refinement (`adaptive_refinement_one.py`: a copy of the network, fresh Adam lr 1e-3,
//! 15 steps of SURFMNet + alignment + bidirectional SW with log-Sinkhorn plans σ = 0.1,
//! 10 iterations, dropout on; then the isometric inference).
//!
//! Label: for the `no-sw` variant the refinement also drops the SW term, so the table's two
//! axes are independent (the official script always uses it).

use anyhow::{Result, anyhow};
use burn::module::Module;
use burn::tensor::Device;
use models::diffusion_net::DiffusionNet;
use models::fmap::{ObjectiveConfig, PlanKind, geodesic_errors, predict_pointmap};

use super::config::ShapeCorrConfig;
use super::data::{OnDevice, Prepared};
use super::train::{adam, step, training_objective};

/// The refinement objective of a variant.
pub fn refinement_objective(cfg: &ShapeCorrConfig, with_sw: bool) -> ObjectiveConfig {
    ObjectiveConfig {
        sw_bidirectional: true,
        plan: PlanKind::Sinkhorn {
            sigma: cfg.refine.sigma,
            iterations: cfg.refine.sinkhorn_iterations,
        },
        ..training_objective(&cfg.train, with_sw)
    }
}

/// The point map y → x of the network on `(x, y)` (evaluation mode, no dropout).
pub fn pointmap(net: &DiffusionNet, x: &OnDevice, y: &OnDevice) -> Vec<usize> {
    let frozen = net.valid();
    let fx = frozen.forward(x.wks.clone(), &x.ops);
    let fy = frozen.forward(y.wks.clone(), &y.ops);
    predict_pointmap(fx, fy, &x.pair.ops, &y.pair.ops)
}

/// Refines a copy of `net` on the pair and returns it.
pub fn refine(
    cfg: &ShapeCorrConfig,
    net: &DiffusionNet,
    x: &OnDevice,
    y: &OnDevice,
    with_sw: bool,
) -> Result<DiffusionNet> {
    let objective = refinement_objective(cfg, with_sw);
    let mut optim = adam(cfg.train.adam_epsilon).init();
    let mut refined = net.clone().train();
    for it in 0..cfg.refine.iterations {
        let at = format!("test-time refinement iteration {}", it + 1);
        refined = step(refined, &mut optim, cfg.refine.lr, cfg.train.grad_clip, x, y, &objective, &at)?.0;
    }
    Ok(refined)
}

/// Geodesic errors of a point map of the pair `(x, y)` (official convention: distances on x).
pub fn errors(x: &Prepared, y: &Prepared, p2p: &[usize]) -> Result<Vec<f64>> {
    let (cx, cy, dist) = (
        x.shape.corr.as_ref(),
        y.shape.corr.as_ref(),
        x.shape.dist.as_ref(),
    );
    let (Some(cx), Some(cy), Some(dist)) = (cx, cy, dist) else {
        return Err(anyhow!("shapes `{}`/`{}` lack ground truth", x.shape.name, y.shape.name));
    };
    if cx.len() != cy.len() {
        return Err(anyhow!(
            "`{}` has {} correspondences and `{}` {}: they must share one template",
            x.shape.name,
            cx.len(),
            y.shape.name,
            cy.len()
        ));
    }
    geodesic_errors(dist, x.shape.mesh.num_vertices(), cx, cy, p2p)
        .ok_or_else(|| anyhow!("a correspondence index of `{}`/`{}` is out of range", x.shape.name, y.shape.name))
}

/// The ordered test pairs (with `(i, i)` when `self_pairs`), at most `max` (0: all), spread
/// evenly over the full list.
pub fn test_pairs(range: [usize; 2], max: usize, self_pairs: bool) -> Vec<(usize, usize)> {
    let idx: Vec<usize> = (range[0]..range[1]).collect();
    let all: Vec<(usize, usize)> = idx
        .iter()
        .flat_map(|&i| idx.iter().map(move |&j| (i, j)))
        .filter(|(i, j)| self_pairs || i != j)
        .collect();
    if max == 0 || max >= all.len() {
        return all;
    }
    (0..max).map(|k| all[k * all.len() / max]).collect()
}

/// The device copy used by evaluation.
pub fn base_shapes(prepared: &[Prepared], device: &Device, num_evecs: usize) -> Vec<OnDevice> {
    prepared.iter().map(|p| p.on(device, num_evecs)).collect()
}
