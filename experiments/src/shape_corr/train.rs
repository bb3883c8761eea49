//! Unsupervised training of DiffusionNet on shape pairs (official `train.py` +
//! `models/fmnet_model.py`): each step one ordered pair, the SURFMNet + alignment (+ SW)
//! objective, Adam, cosine annealing per epoch.
//! Gradients are clipped to a global norm of 1.0 before each step (official
//! `clip_grad_norm_(…, 1.0)`, [`models::fmap::clip_grad_norm`]).
//!
//! Model selection as the official `train.py`: every `val_freq` iterations (pairs, counted
//! from 1 across epochs) the caller's validation gives the mean geodesic error on the test
//! pairs; the weights with the lowest one so far are kept ([`Trained::best`]) and written to
//! `checkpoints/best/<variant>/` (`model.bpk`, `state` holding the iteration, `val_error`), the
//! final weights to `checkpoints/latest/<variant>/`. The official `base_model.py` starts
//! `best_networks_state_dict` at the initial weights, so a run shorter than `val_freq` would
//! "select" the untrained network; here such a run has no best and only the latest is
//! evaluated (the log says so).

use anyhow::{Result, anyhow};
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use models::diffusion_net::DiffusionNet;
use models::fmap::{ObjectiveConfig, PlanKind, SurfmnetWeights, clip_grad_norm, pair_objective};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::config::{ShapeCorrConfig, TrainConfig};
use super::data::OnDevice;
use crate::checkpoint::Role;
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// The weights one variant's training ends with.
pub struct Trained {
    /// The final weights.
    pub latest: DiffusionNet,
    /// Training iterations run (the latest weights' iteration).
    pub iterations: usize,
    /// The weights of the validation with the lowest error: (iteration, error, weights);
    /// `None` when no validation ran (`val_freq` 0 or more than the iterations).
    pub best: Option<(usize, f64, DiffusionNet)>,
}

/// Writes `net` as `checkpoints/<kind>/<variant>/` of the run (checksummed, atomic), with the
/// iteration in `state` and, for `best`, the validation error in `val_error`.
fn save_weights(
    run: &RunDir,
    kind: &str,
    variant: &str,
    iteration: usize,
    error: Option<f64>,
    net: &DiffusionNet,
) -> Result<()> {
    let dir = crate::checkpoint::checkpoints_dir(run.path()).join(kind);
    crate::checkpoint::save_in(&dir, run.path(), variant, iteration, 0.0, Role::Side, |d| {
        net.clone()
            .save_file(d.join("model.bpk"))
            .map_err(|e| anyhow!("saving the network: {e:?}"))?;
        if let Some(e) = error {
            std::fs::write(d.join("val_error"), format!("{e:e}\n"))?;
        }
        Ok(())
    })
}

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
#[allow(clippy::too_many_arguments)] // the inputs of the math, each named in the doc
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

/// Trains one variant from a fresh network; `validate` gives the mean geodesic error of a
/// network on the validation pairs (called every `val_freq` iterations; it must not draw from
/// the device RNG, so validating does not change the training).
pub fn train(
    cfg: &ShapeCorrConfig,
    variant: &str,
    shapes: &[OnDevice],
    device: &burn::tensor::Device,
    run: &RunDir,
    validate: &mut dyn FnMut(&DiffusionNet) -> Result<f64>,
) -> Result<Trained> {
    let t = &cfg.train;
    device.seed(cfg.header.seed);
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
    let mut rng = StdRng::seed_from_u64(cfg.header.seed);
    let mut progress = Progress::new(&format!("train {variant}"), (t.epochs * per_epoch) as u64);
    let mut best: Option<(usize, f64, DiffusionNet)> = None;
    let mut iteration = 0;
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
            iteration += 1;
            progress.inc(1, || format!("epoch {epoch} loss {loss:.3}"));
            if t.val_freq > 0 && iteration % t.val_freq == 0 {
                let error = validate(&net)?;
                let improved = best.as_ref().is_none_or(|b| error < b.1);
                let line = format!(
                    "{variant} validation at iteration {iteration}: mean geodesic error {error:.6}{}",
                    if improved { " (best so far)" } else { "" }
                );
                progress.println(&line);
                run.log(&line);
                if improved {
                    save_weights(run, "best", variant, iteration, Some(error), &net)?;
                    best = Some((iteration, error, net.clone()));
                }
            }
        }
        let line = format!(
            "{variant} epoch {epoch}: lr {lr:.2e}, mean loss {:.4}",
            total / per_epoch as f64
        );
        progress.println(&line);
        run.log(&line);
    }
    progress.finish();
    save_weights(run, "latest", variant, iteration, None, &net)?;
    if best.is_none() {
        run.log(&format!(
            "{variant}: no validation ran (val_freq {} over {iteration} iterations): only the latest weights are evaluated",
            t.val_freq
        ));
    }
    Ok(Trained {
        latest: net,
        iterations: iteration,
        best,
    })
}
