//! The training loop (hsgser/Self-Amortized-DSW train.py + trainer/trainer.py +
//! loss/sw_variants.py): per batch, for the amortized losses one Adam step of the amortized
//! model maximising the projected distance on detached clouds, then one SGD step of the
//! autoencoder on the loss in official units (N·SW_p^p, mean over the batch). After each
//! epoch: the mean training loss, Chamfer on the evaluation clouds, the latest checkpoint and,
//! when the mean training loss is the lowest so far, `checkpoints/best/` (the official
//! model selection, `evaluator = "based_on_train_loss"`).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor};
use datasets::PointCloud;
use datasets::shapenet::CloudBatcher;
use models::amortized::Amortizer;
use models::pointnet::PointNetAutoencoder;
use sw_loss::{
    BatchReduction, DirectionSets, Directions, EstimatorKind, LossConfig, Measure,
    sw_pp_with_directions,
};

use super::checkpoints::{Snapshot, best_so_far, logged_losses, save_best, save_latest};
use super::config::{AMORTIZER_ADAM, AutoencoderConfig};
use super::data::{data_resolved, training_set};
use super::metrics::{EvalClouds, mean_std};
use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::numerics;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;
use crate::run_layer::{Interrupt, due, epoch_seed};

/// The directions (max-sw: `[B, 1, 3]`) or vMF samples (v-dsw: `[B, L, 3]`) the amortized
/// model gives the pairs (official `Amortized_MSW` / `Amortized_VSW`: f_slice([x; y])).
fn directions_from(
    amortizer: &Amortizer,
    x: &Tensor<3>,
    y: &Tensor<3>,
    loss: &LossConfig,
) -> Result<Tensor<3>> {
    let mu = amortizer.forward(x.clone(), y.clone()); // [B, 3]
    Ok(if loss.kind == EstimatorKind::VDsw {
        // Official VonMisesFisher.rsample: the raw-mean Householder (sw_loss::vmf::Householder).
        sw_loss::vmf::sample_with(
            mu,
            loss.kappa,
            loss.projections,
            sw_loss::vmf::Householder::Official,
        )? // [B, L, 3]
    } else {
        mu.unsqueeze_dim::<3>(1) // [B, 1, 3]
    })
}

/// The amortized loss of one batch, `x` the input and `recon` the reconstruction `[B, N, 3]`:
/// one Adam step of the amortized model on −scale·mean_b W_p^p (official: amortize_num_iters
/// 1, `-first_moment.mean()` with `squared_loss`), then scale·mean_b W_p^p under the detached
/// directions of the updated model. Returns the loss and the updated model.
pub(super) fn amortized_loss(
    amortizer: Amortizer,
    optimizer: &mut ModuleOptimizer,
    lr: f64,
    x: Tensor<3>,
    recon: Tensor<3>,
    loss: &LossConfig,
    scale: f64,
) -> Result<(Tensor<1>, Amortizer)> {
    let (xd, rd) = (x.clone().detach(), recon.clone().detach());
    let dirs = directions_from(&amortizer, &xd, &rd, loss)?;
    let projected = sw_pp_with_directions(
        &Measure::new(xd.clone()),
        &Measure::new(rd.clone()),
        &Directions::PerPair(dirs),
        loss.p,
        BatchReduction::Mean,
    )?
    .mul_scalar(scale);
    let grads = GradientsParams::from_grads(projected.neg().backward(), &amortizer);
    let amortizer = optimizer.step(lr, amortizer, grads);
    let dirs = directions_from(&amortizer, &xd, &rd, loss)?.detach();
    let value = sw_pp_with_directions(
        &Measure::new(x),
        &Measure::new(recon),
        &Directions::PerPair(dirs),
        loss.p,
        BatchReduction::Mean,
    )?
    .mul_scalar(scale);
    Ok((value, amortizer))
}

/// Refuses, before the run folder is made or opened, a training whose loss cannot fit in
/// `[loss] memory_budget` (`sw_loss::memory`'s estimate, f32, d = 3) for B = min([train]
/// batch_size, training clouds) pairs of N = [data] points points. SW, Max-SW and the
/// amortized losses evaluate their directions in chunks within the budget (refused only when
/// not even one direction fits); v-DSW's ascent is not chunked, so its whole evaluation must
/// fit (`LossConfig::plan_memory` says so). The end-of-run SW metric is chunked too.
pub(super) fn check_memory(cfg: &AutoencoderConfig, train_clouds: usize) -> Result<()> {
    let (n, dtype) = (cfg.data.points, burn::tensor::DType::F32);
    let b = cfg.train.batch_size.min(train_clouds).max(1);
    let loss = cfg.training_loss();
    // The amortized losses run no ascent: SW on the amortizer's per-pair directions.
    let planned = match &cfg.amortized {
        Some(_) => LossConfig {
            kind: EstimatorKind::Sw,
            direction_sets: DirectionSets::PerPair,
            projections: if loss.kind == EstimatorKind::MaxSw {
                1
            } else {
                loss.projections
            },
            ..loss
        },
        None => loss,
    };
    planned
        .plan_memory(b, n, n, 3, dtype)
        .map_err(|e| anyhow!("[loss] {e}"))?;
    Ok(())
}

/// The models and optimisers a run trains.
struct Trainer {
    ae: PointNetAutoencoder,
    sgd: ModuleOptimizer,
    amortizer: Option<Amortizer>,
    adam: ModuleOptimizer,
}

impl Trainer {
    /// Fresh models (official initialisation) and optimisers: SGD(lr, momentum, weight_decay)
    /// as hsgser/Self-Amortized-DSW train.py, the amortizer's Adam with [`AMORTIZER_ADAM`].
    fn new(cfg: &AutoencoderConfig, device: &Device) -> Self {
        let sgd = SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: cfg.train.momentum,
                dampening: 0.0,
                nesterov: false,
            }))
            .with_weight_decay(Some(WeightDecayConfig {
                penalty: cfg.train.weight_decay as f32,
            }))
            .init();
        let (beta_1, beta_2, epsilon) = AMORTIZER_ADAM;
        let adam = AdamConfig::new()
            .with_beta_1(beta_1 as f32)
            .with_beta_2(beta_2 as f32)
            .with_epsilon(epsilon as f32)
            .init();
        Self {
            ae: cfg.model_config().init(device),
            sgd,
            amortizer: cfg.amortized_config().map(|a| a.init(device)),
            adam,
        }
    }

    /// The state of checkpoint `ckpt` (models and optimisers).
    fn load(self, ckpt: &Path) -> Result<Self> {
        let Trainer {
            ae,
            sgd,
            amortizer,
            adam,
        } = self;
        let (model, opt) = (ckpt.join("model.bpk"), ckpt.join("optimizer.bpk"));
        let ae = crate::record::load(&model, "the model", || ae.try_load_file(&model))?;
        let sgd = crate::record::load(&opt, "the optimizer", || sgd.load(&opt))?;
        let (amortizer, adam) = match amortizer {
            Some(a) => {
                let (model, opt) = (
                    ckpt.join("amortizer.bpk"),
                    ckpt.join("amortizer_optimizer.bpk"),
                );
                let a = crate::record::load(&model, "the amortizer", || a.try_load_file(&model))?;
                let adam =
                    crate::record::load(&opt, "the amortizer's optimizer", || adam.load(&opt))?;
                (Some(a), adam)
            }
            None => (None, adam),
        };
        Ok(Self {
            ae,
            sgd,
            amortizer,
            adam,
        })
    }

    /// A fresh trainer, or the state of the run's resume checkpoint. Returns it with the
    /// first epoch to train, the training seconds so far and the lowest mean loss so far.
    fn start(
        cfg: &AutoencoderConfig,
        device: &Device,
        run: &RunDir,
    ) -> Result<(Self, usize, f64, f64)> {
        let trainer = Trainer::new(cfg, device);
        let Some(c) = run.resume() else {
            return Ok((trainer, 1, 0.0, f64::INFINITY));
        };
        let (ckpt, epoch) = (c.dir.clone(), c.counter);
        let best = best_so_far(run, epoch)?;
        let trainer = trainer.load(&ckpt)?;
        run.log(&format!("resumed from {} (epoch {epoch})", ckpt.display()));
        println!("resuming after epoch {epoch}");
        Ok((trainer, epoch + 1, c.seconds, best))
    }

    fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            ae: &self.ae,
            sgd: &self.sgd,
            amortizer: self.amortizer.as_ref(),
            adam: &self.adam,
        }
    }

    /// One epoch: per batch (clouds resampled to `points`, shuffled, all from the epoch's seed
    /// [`epoch_seed`]`(seed, epoch)`), the
    /// amortizer's Adam step when there is one, then the SGD step on the loss in official
    /// units. Returns the mean training loss.
    fn epoch(
        &mut self,
        cfg: &AutoencoderConfig,
        train: &[datasets::shapenet::CloudItem],
        epoch: usize,
        seed: u64,
        kept: numerics::Kept,
        device: &Device,
    ) -> Result<f64> {
        let (points, scale) = (
            cfg.data.points,
            cfg.train.loss_scale.factor(cfg.data.points),
        );
        let loss = &cfg.training_loss();
        let epoch_seed = epoch_seed(seed, epoch);
        device.seed(epoch_seed);
        let loader: Arc<_> = DataLoaderBuilder::new(CloudBatcher::resample(points, epoch_seed))
            .batch_size(cfg.train.batch_size)
            .shuffle(epoch_seed)
            .set_device(device.clone())
            .build(InMemDataset::new(train.to_vec()));
        let what = format!("training loss ({})", cfg.label());
        let (mut total, mut batches) = (0.0, 0usize);
        for batch in loader.iter() {
            let x = batch.map_err(|e| anyhow!("loading a batch: {e}"))?.points;
            let recon = self.ae.forward(x.clone());
            let at = format!("epoch {epoch}, batch {}", batches + 1);
            // Official order of arguments: loss_func.forward(input, reconstruction).
            let value = match self.amortizer.take() {
                Some(amort) => {
                    let lr = cfg.amortized.as_ref().map_or(1e-3, |a| a.lr);
                    let (value, amort) =
                        amortized_loss(amort, &mut self.adam, lr, x, recon, loss, scale)
                            .with_context(|| numerics::stopped_at(&at, kept))?;
                    self.amortizer = Some(amort);
                    value
                }
                None => loss
                    .forward(&Measure::new(x), &Measure::new(recon))
                    .with_context(|| numerics::stopped_at(&at, kept))?
                    .mul_scalar(scale),
            };
            let (value, grads) = numerics::checked_backward(value, &self.ae, &what, &at, kept)?;
            total += value;
            batches += 1;
            self.ae = self.sgd.step(cfg.train.lr, self.ae.clone(), grads);
        }
        Ok(total / batches.max(1) as f64)
    }
}

pub fn run(loaded: &Loaded, cli: &Cli, resume: Option<&Path>) -> Result<()> {
    let cfg = AutoencoderConfig::load(loaded)?;
    let path = loaded.path.display().to_string();
    let Opening {
        seed,
        device_name,
        device,
    } = Opening::resolve(cli, &cfg.header)?;
    let device = device.autodiff();
    device.seed(seed);
    let (train, eval_clouds, held_out) =
        training_set(&data_resolved(&cfg.data, loaded)?, seed).with_context(|| path.clone())?;
    let eval_set = if held_out { "held-out" } else { "training" };
    let monitored = &eval_clouds[..eval_clouds.len().min(cfg.data.monitor_clouds)];
    check_memory(&cfg, train.len()).map_err(|e| anyhow!("{path}: {e}"))?;
    let run = RunDir::open_or_create(
        resume,
        cli.from_checkpoint.as_deref(),
        cli.out.as_deref(),
        loaded,
    )?;
    println!("run folder: {}", run.path().display());
    let points = cfg.data.points;
    let (mut trainer, first_epoch, mut seconds, mut best) = Trainer::start(&cfg, &device, &run)?;
    let label = cfg.label();
    run.log(&format!(
        "autoencoder: {} training clouds, {} evaluation clouds ({eval_set}; {} monitored), loss {label} in {}, device {device_name}",
        train.len(),
        eval_clouds.len(),
        monitored.len(),
        cfg.train.loss_scale.label()
    ));
    let eval = EvalClouds::new(monitored);
    let mut metrics = crate::run_dir::append_csv(
        &run.file("metrics.csv")?,
        &["epoch", "train_loss", "eval_chamfer", "seconds"],
    )?;
    let mut curve = logged_losses(&run.path().join("metrics.csv"), first_epoch);
    let mut progress = Progress::new("epochs", cfg.train.epochs as u64);
    progress.inc((first_epoch - 1) as u64, String::new);
    let interrupt = Interrupt::install("epoch");
    let kept = numerics::Kept::Checkpoints(run.path());
    for epoch in first_epoch..=cfg.train.epochs {
        let start = Instant::now();
        // Everything random in an epoch derives from (seed, epoch), so a run resumed from a
        // checkpoint continues exactly as the uninterrupted run would.
        let mean = trainer.epoch(&cfg, &train, epoch, seed, kept, &device)?;
        seconds += start.elapsed().as_secs_f64();
        if !mean.is_finite() {
            bail!(
                "{path}: the mean training loss of epoch {epoch} is {mean}: training diverged (lower [train] lr)"
            );
        }
        let recon = eval.reconstruct(&trainer.ae.valid(), &device.clone().inner());
        let (chamfer, _) = mean_std(&eval.chamfer(&recon, points));
        metrics.write_record([
            epoch.to_string(),
            format!("{mean:.6e}"),
            format!("{chamfer:.6e}"),
            format!("{seconds:.3}"),
        ])?;
        metrics.flush()?;
        run.log(&format!(
            "epoch {epoch}: train loss {mean:.5}, {eval_set} Chamfer {chamfer:.5}"
        ));
        curve.push((epoch as f64, mean));
        progress.inc(1, || format!("loss {mean:.5} chamfer {chamfer:.5}"));
        if mean < best {
            best = mean;
            save_best(&run, epoch, mean, &trainer.snapshot())?;
        }
        let stop = interrupt.requested();
        if stop || due(epoch, cfg.train.checkpoint_every.max(1), cfg.train.epochs) {
            save_latest(&run, epoch, seconds, &trainer.snapshot())?;
        }
        if stop {
            progress.finish();
            run.log(&format!(
                "interrupted after epoch {epoch}; checkpoint written"
            ));
            println!(
                "stopped after epoch {epoch}; continue with: experiments --resume {}",
                run.path().display()
            );
            return Ok(());
        }
        if epoch == cfg.train.epochs {
            write_reconstructions(&run, &eval, &recon, points)?;
        }
    }
    progress.finish();
    final_metrics(
        &run,
        &cfg,
        &eval,
        eval_set,
        &device.clone().inner(),
        &trainer.ae,
    )?;
    loss_plot(&run, &cfg, curve)?;
    println!("outputs in {}", run.path().display());
    Ok(())
}

/// `loss_vs_epoch.png`: the mean training loss of every epoch (a resumed run's included).
fn loss_plot(run: &RunDir, cfg: &AutoencoderConfig, curve: Vec<(f64, f64)>) -> Result<()> {
    let label = cfg.label();
    plots::line_plot(
        &run.file("loss_vs_epoch.png")?,
        &format!("Autoencoder, {label}"),
        "epoch",
        &format!("training loss, {}", cfg.train.loss_scale.label()),
        &[Series {
            label,
            points: curve,
        }],
        false,
        true,
    )
}

/// PLY and PNG of the first four evaluation clouds and their reconstructions (inputs at the
/// file's own number of points).
fn write_reconstructions(
    run: &RunDir,
    eval: &EvalClouds,
    recon: &[f32],
    points: usize,
) -> Result<()> {
    let per = points * 3;
    for i in 0..eval.len().min(4) {
        let (a, b) = (eval.input(i), &recon[i * per..(i + 1) * per]);
        datasets::ply::write_cloud(
            run.file(&format!("reconstructions/{i}_input.ply"))?,
            &PointCloud::new(a.to_vec()),
        )?;
        datasets::ply::write_cloud(
            run.file(&format!("reconstructions/{i}_output.ply"))?,
            &PointCloud::new(b.to_vec()),
        )?;
        plots::cloud_views(
            &run.file(&format!("reconstructions/{i}.png"))?,
            &format!("evaluation cloud {i}"),
            &[("input", a), ("reconstruction", b)],
        )?;
    }
    Ok(())
}

/// End of run: Chamfer, the paper's SW metric and the approxmatch EMD (the paper's column; see
/// [`super::eval`]) on the evaluation clouds for the latest and the best (lowest mean training
/// loss) checkpoints, into `final_metrics.csv` and the log. SW and EMD need inputs of `[data]
/// points` points; otherwise their cells are empty.
fn final_metrics(
    run: &RunDir,
    cfg: &AutoencoderConfig,
    eval: &EvalClouds,
    eval_set: &str,
    device: &Device,
    latest: &PointNetAutoencoder,
) -> Result<()> {
    let points = cfg.data.points;
    let best_file = run.path().join("checkpoints/best/model.bpk");
    let best_epoch = crate::checkpoint::verified(&run.path().join("checkpoints/best"))?.counter;
    let fresh = cfg.model_config().init(device);
    let best = crate::record::load(&best_file, "the best model", || {
        fresh.try_load_file(&best_file)
    })?;
    let mut w = csv::Writer::from_path(run.file("final_metrics.csv")?)?;
    w.write_record([
        "checkpoint",
        "eval_set",
        "clouds",
        "chamfer_mean",
        "chamfer_std",
        "sw_metric_mean",
        "sw_metric_std",
        "emd_approxmatch_mean",
        "emd_approxmatch_std",
    ])?;
    let cell = |v: &Option<Vec<f64>>| match v {
        Some(v) => {
            let (m, sd) = mean_std(v);
            [format!("{m:.6e}"), format!("{sd:.6e}")]
        }
        None => [String::new(), String::new()],
    };
    for (name, model) in [
        ("latest", latest.valid()),
        (&*format!("best (epoch {best_epoch})"), best),
    ] {
        let recon = eval.reconstruct(&model, device);
        let (cd, cd_sd) = mean_std(&eval.chamfer(&recon, points));
        let sw = eval.sw_metric(&recon, points, device)?;
        let emd = eval.emd_approxmatch(&recon, points)?;
        let [sw_m, sw_sd] = cell(&sw);
        let [emd_m, emd_sd] = cell(&emd);
        w.write_record([
            name.to_string(),
            eval_set.to_string(),
            eval.len().to_string(),
            format!("{cd:.6e}"),
            format!("{cd_sd:.6e}"),
            sw_m,
            sw_sd,
            emd_m,
            emd_sd,
        ])?;
        let line = match (&sw, &emd) {
            (Some(sw), Some(emd)) => {
                let ((m, sd), (em, esd)) = (mean_std(sw), mean_std(emd));
                format!(
                    "Chamfer {cd:.5} ± {cd_sd:.5}, SW √(N·SW₂²) L=100 {m:.5} ± {sd:.5}, EMD approxmatch {em:.3} ± {esd:.3}"
                )
            }
            _ => format!(
                "Chamfer {cd:.5} ± {cd_sd:.5} (SW metric and EMD skipped: the clouds do not have [data] points points)"
            ),
        };
        let line = format!(
            "final, {name} checkpoint, {} {eval_set} clouds: {line}",
            eval.len()
        );
        run.log(&line);
        println!("{line}");
    }
    w.flush()?;
    Ok(())
}
