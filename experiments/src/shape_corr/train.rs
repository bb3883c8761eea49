//! Unsupervised training of DiffusionNet on shape pairs (official `train.py` +
//! `models/fmnet_model.py`): each step one ordered pair, the SURFMNet + alignment (+ SW)
//! objective, Adam, cosine annealing per epoch.
//! Gradients are clipped to a global norm of 1.0 before each step (official
//! `clip_grad_norm_(…, 1.0)`, [`models::fmap::clip_grad_norm`]).

use anyhow::{Result, anyhow};
use burn::optim::{AdamConfig, ModuleOptimizer};
use models::diffusion_net::DiffusionNet;
use models::fmap::{ObjectiveConfig, PlanKind, SurfmnetWeights, clip_grad_norm, pair_objective};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::config::{ShapeCorrConfig, TrainConfig};
use super::data::OnDevice;
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// The objective of a variant during training (soft permutations, unidirectional SW).
pub fn training_objective(t: &TrainConfig, with_sw: bool) -> ObjectiveConfig {
    ObjectiveConfig {
        surfmnet: SurfmnetWeights {
            bijectivity: t.w_bij,
            orthogonality: t.w_orth,
            laplacian: t.w_lap,
        },
        align_weight: t.w_align,
        sw_weight: if with_sw { t.sw_weight } else { 0.0 },
        sw_projections: t.sw_projections,
        sw_bidirectional: false,
        lambda: t.lambda,
        gamma: t.gamma,
        plan: PlanKind::SoftPermutation { tau: t.tau },
    }
}

/// Adam with PyTorch's ε.
pub fn adam(epsilon: f64) -> AdamConfig {
    AdamConfig::new().with_epsilon(epsilon as f32)
}

/// One optimiser step of `objective` on the pair `(x, y)`, gradients clipped to a global
/// norm of `clip`; returns the loss value.
pub fn step(
    net: DiffusionNet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    clip: f64,
    x: &OnDevice,
    y: &OnDevice,
    objective: &ObjectiveConfig,
    at: &str,
) -> Result<(DiffusionNet, f64)> {
    let fx = net.forward(x.wks.clone(), &x.ops);
    let fy = net.forward(y.wks.clone(), &y.ops);
    let loss = pair_objective(fx, fy, &x.pair, &y.pair, objective)
        .map_err(|e| anyhow!("SW loss: {e}"))?
        .total();
    let kept = crate::numerics::Kept::Nothing;
    let (value, mut grads) =
        crate::numerics::checked_backward(loss, &net, "correspondence loss", at, kept)?;
    clip_grad_norm(&net, &mut grads, clip);
    Ok((optim.step(lr, net, grads).clamp_times(), value))
}

/// Trains one variant from a fresh network.
pub fn train(
    cfg: &ShapeCorrConfig,
    variant: &str,
    shapes: &[OnDevice],
    device: &burn::tensor::Device,
    run: &RunDir,
) -> Result<DiffusionNet> {
    let t = &cfg.train;
    device.seed(cfg.seed);
    let mut net = cfg.model.network().init(device);
    let mut optim = adam(t.adam_epsilon).init();
    let objective = training_objective(t, variant == "sw");
    let train: Vec<usize> = (cfg.data.train[0]..cfg.data.train[1]).collect();
    let mut pairs: Vec<(usize, usize)> = train
        .iter()
        .flat_map(|&i| train.iter().map(move |&j| (i, j)))
        .collect();
    let per_epoch = if t.pairs_per_epoch == 0 {
        pairs.len()
    } else {
        t.pairs_per_epoch
    };
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut progress = Progress::new(&format!("train {variant}"), (t.epochs * per_epoch) as u64);
    for epoch in 0..t.epochs {
        // official CosineAnnealingLR(T_max = epochs, eta_min), stepped once per epoch
        let cos = (std::f64::consts::PI * epoch as f64 / t.epochs as f64).cos();
        let lr = t.lr_min + (t.lr - t.lr_min) * (1.0 + cos) / 2.0;
        pairs.shuffle(&mut rng);
        let mut total = 0.0;
        for k in 0..per_epoch {
            let (i, j) = pairs[k % pairs.len()];
            let at = format!(
                "{variant} training, epoch {epoch}, pair {} (shapes {i} → {j})",
                k + 1
            );
            let (next, loss) = step(
                net,
                &mut optim,
                lr,
                t.grad_clip,
                &shapes[i],
                &shapes[j],
                &objective,
                &at,
            )?;
            net = next;
            total += loss;
            progress.inc(1, || format!("epoch {epoch} loss {loss:.3}"));
        }
        let line = format!(
            "{variant} epoch {epoch}: lr {lr:.2e}, mean loss {:.4}",
            total / per_epoch as f64
        );
        progress.println(&line);
        run.log(&line);
    }
    progress.finish();
    Ok(net)
}
