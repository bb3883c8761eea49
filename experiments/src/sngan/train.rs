//! SNGAN trained with a feature-space SW-type generator loss (CV-SW, section 5.2).
//!
//! Per generator step: `n_critic` discriminator steps (one before the first generator step, as
//! the official loop orders them, see [`d_steps_before`]) with the hinge loss
//! `mean(relu(1 − D(x))) + mean(relu(1 + D(G(z))))`, then one generator step minimising the
//! configured `sw-loss` estimator between the feature vectors `concat[flatten(features), D(·)]`
//! of the last real batch and a generated batch; Adam for both; an EMA copy of G for samples and
//! evaluation. Checkpoints (atomic) every K steps and on Ctrl-C; `--resume` continues bit for
//! bit: the device RNG is re-seeded from (seed, step) at every step and the data order is a
//! pure function of (seed, epoch), so a checkpoint's step number is the whole RNG state.
//! With `[eval]`, the EMA generator is scored every K steps and after the last (see
//! [`super::eval`]) with noise seeded from (seed, step), so a resumed run writes the same
//! `eval.csv` rows as an uninterrupted one.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use datasets::celeba::{Celeba, CelebaOptions, CelebaSplit};
use datasets::cifar::{Cifar10, Split};
use datasets::image::ImageBatcher as Batch;
use datasets::image::ImageItem;
use models::sngan::{Discriminator, Generator, Resolution, ema_update};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_distr::Distribution as _;
use sw_loss::{BatchReduction, LossConfig, Measure};

use super::config::{DatasetName, GanData, GanTrain, SnganConfig, checked};
use super::eval::PeriodicEval;
use crate::checkpoint::Role;
use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::numerics;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::record;
use crate::run_dir::RunDir;
use crate::run_layer::{Interrupt, due, mix};

/// The training images, in memory or decoded on demand (CelebA).
enum Images {
    Memory(Vec<ImageItem>),
    Celeba(Celeba),
}

impl Images {
    fn open(cfg: &GanData, size: usize, seed: u64) -> Result<Self> {
        let root = cfg
            .root
            .clone()
            .unwrap_or_else(datasets::download::data_dir);
        Ok(match cfg.dataset {
            DatasetName::Cifar10 => {
                let ds = Cifar10::load(&root, Split::Train).map_err(|e| {
                    anyhow!(
                        "{e}\n`experiments download cifar10 --dir {}` downloads and verifies it.",
                        root.display()
                    )
                })?;
                Images::Memory(
                    (0..ds.len())
                        .map(|i| ds.get(i).map_err(|e| anyhow!("{e}")))
                        .collect::<Result<_>>()?,
                )
            }
            DatasetName::Celeba => Images::Celeba(Celeba::open(
                &root,
                CelebaSplit::Train,
                CelebaOptions {
                    size,
                    ..Default::default()
                },
            )?),
            DatasetName::Synthetic => Images::Memory(datasets::synthetic_images::synthetic_images(
                cfg.synthetic_images,
                size,
                seed,
            )),
        })
    }

    fn len(&self) -> usize {
        match self {
            Images::Memory(v) => v.len(),
            Images::Celeba(c) => c.len(),
        }
    }

    fn size(&self) -> Result<usize> {
        let first = match self {
            Images::Memory(v) => v.first().cloned().ok_or_else(|| anyhow!("no images"))?,
            Images::Celeba(c) => c.get(0).map_err(|e| anyhow!("{e}"))?,
        };
        Ok(first.height)
    }

    fn items(&self, indices: &[usize]) -> Result<Vec<ImageItem>> {
        match self {
            Images::Memory(v) => Ok(indices.iter().map(|&i| v[i].clone()).collect()),
            Images::Celeba(c) => Ok(c.decode_many(indices)?),
        }
    }
}

/// The real-batch schedule: D step `k` (0-based, over the whole run) takes batch `k mod E` of
/// epoch `k / E` (E = ⌊N / B⌋, the incomplete last batch is dropped like the reference), in an
/// order that depends only on (seed, epoch).
struct Schedule {
    n: usize,
    batch: usize,
    seed: u64,
    epoch: Option<(usize, Vec<usize>)>,
}

impl Schedule {
    fn indices(&mut self, k: usize) -> Vec<usize> {
        let per_epoch = self.n / self.batch;
        let epoch = k / per_epoch;
        if self.epoch.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let mut order: Vec<usize> = (0..self.n).collect();
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(mix(
                self.seed,
                epoch as u64,
            )));
            self.epoch = Some((epoch, order));
        }
        let order = &self.epoch.as_ref().expect("set").1;
        let at = (k % per_epoch) * self.batch;
        order[at..at + self.batch].to_vec()
    }
}

/// Mixed into the seed of the noise of periodic scoring (its own stream, a function of the step).
const EVAL_SEED: u64 = 0x6576_616c; // "eval"

/// The discriminator steps (0-based, over the whole run) that precede generator step `step`
/// (1-based), as the official loop orders them: CV-SW `Generative_model/functions.py:139`
/// runs the G step inside the D loop when `global_steps % n_critic == 0`, counting from 0, so
/// the order is D0 G D1 … D5 G D6 … — the first G step follows one D step, every later one
/// n_critic more. The G step's real batch is the last of them.
fn d_steps_before(step: usize, n_critic: usize) -> std::ops::RangeInclusive<usize> {
    if step <= 1 {
        0..=0
    } else {
        n_critic * (step - 2) + 1..=n_critic * (step - 1)
    }
}

/// Fixed noise for the sample grids: 64 latent vectors from (seed, "grid"), made on the host so
/// that every backend shows the same z.
fn fixed_noise(latent: usize, seed: u64, n: usize, device: &Device) -> Tensor<2> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(mix(seed, 0x6772_6964));
    let normal = rand_distr::StandardNormal;
    let values: Vec<f32> = (0..n * latent).map(|_| normal.sample(&mut rng)).collect();
    Tensor::from_data(TensorData::new(values, [n, latent]), device)
}

/// Folds the pending updates of a module's running state (batch-norm statistics, spectral-norm
/// vectors) into its stored value. Burn keeps the last forward's update per thread until the
/// next read, and visitors (the EMA, the checkpoint writer) read the stored value — one update
/// behind without this, which made resumed runs drift from uninterrupted ones in the last
/// digits. `valid()` performs the fold (the states are shared with the returned copy).
fn sync_running_state<M: Module>(module: &M) {
    let _ = module.valid();
}

/// Everything a checkpoint holds besides the step.
struct State {
    g: Generator,
    d: Discriminator,
    ema: Generator,
    opt_g: ModuleOptimizer,
    opt_d: ModuleOptimizer,
}

/// The generator's input: standard normal `[B, latent]` on the training device.
struct Noise<'a> {
    shape: [usize; 2],
    device: &'a Device,
}

impl Noise<'_> {
    fn draw(&self) -> Tensor<2> {
        Tensor::<2>::random(self.shape, Distribution::Normal(0.0, 1.0), self.device)
    }
}

impl State {
    /// Fresh networks and optimisers (official initialisation; the EMA generator starts as a
    /// copy of G), or the state of the run's resume checkpoint. Returns it with the first
    /// generator step and the training seconds so far; on resume, scores written after the
    /// checkpoint are dropped (the resumed run recomputes them identically).
    fn start(
        cfg: &SnganConfig,
        device: &Device,
        run: &RunDir,
        scoring: Option<&mut PeriodicEval>,
    ) -> Result<(Self, usize, f64)> {
        let g = cfg.generator.init(device);
        let adam = cfg.train.adam();
        let s = State {
            ema: g.valid(),
            g,
            d: cfg.discriminator.init(device),
            opt_g: adam.init(),
            opt_d: adam.init(),
        };
        let Some(c) = run.resume() else {
            return Ok((s, 1, 0.0));
        };
        let (ckpt, step) = (c.dir.clone(), c.counter);
        let s = s.load(&ckpt)?;
        crate::run_dir::drop_rows_after(&run.path().join("eval.csv"), step)?;
        if let Some(pe) = scoring {
            pe.continue_from(run.path())?;
        }
        run.log(&format!("resumed from {} (step {step})", ckpt.display()));
        println!("resuming after generator step {step}");
        Ok((s, step + 1, c.seconds))
    }

    /// The state of checkpoint `ckpt` (the three networks and both optimisers).
    fn load(self, ckpt: &Path) -> Result<Self> {
        let State {
            g,
            d,
            ema,
            opt_g,
            opt_d,
        } = self;
        let file = |name: &str| ckpt.join(name);
        let (fg, fd, fe) = (
            file("generator.bpk"),
            file("discriminator.bpk"),
            file("ema_generator.bpk"),
        );
        let (fog, fod) = (
            file("optimizer_generator.bpk"),
            file("optimizer_discriminator.bpk"),
        );
        Ok(State {
            g: record::load(&fg, "the generator", || g.try_load_file(&fg))?,
            d: record::load(&fd, "the discriminator", || d.try_load_file(&fd))?,
            ema: record::load(&fe, "the EMA generator", || ema.try_load_file(&fe))?,
            opt_g: record::load(&fog, "the generator's optimizer", || opt_g.load(&fog))?,
            opt_d: record::load(&fod, "the discriminator's optimizer", || opt_d.load(&fod))?,
        })
    }

    /// The discriminator steps before generator step `step` ([`d_steps_before`]): hinge loss
    /// on a real batch and a batch generated in training mode (batch statistics, no graph).
    /// Returns the last step's loss and its real batch (the generator step compares with it).
    fn d_steps(
        &mut self,
        step: usize,
        t: &GanTrain,
        images: &Images,
        schedule: &mut Schedule,
        noise: &Noise,
        kept: numerics::Kept,
    ) -> Result<(f64, Tensor<4>)> {
        let (mut real, mut d_loss_value) = (None, 0.0);
        for (j, k) in d_steps_before(step, t.n_critic).enumerate() {
            let items = images.items(&schedule.indices(k))?;
            let x = Batch.batch(items, noise.device).images; // [B, 3, S, S]
            let fake = self.g.clone().no_grad().forward(noise.draw()).detach();
            let d_real = self.d.forward(x.clone()).output; // [B, 1]
            let d_fake = self.d.forward(fake).output;
            let d_loss =
                relu(d_real.neg().add_scalar(1.0)).mean() + relu(d_fake.add_scalar(1.0)).mean();
            let at = format!("generator step {step} (discriminator step {})", j + 1);
            let (value, grads) =
                numerics::checked_backward(d_loss, &self.d, "discriminator hinge loss", &at, kept)?;
            d_loss_value = value;
            self.d = self.opt_d.step(t.lr_discriminator, self.d.clone(), grads);
            real = Some(x);
        }
        Ok((d_loss_value, real.expect("n_critic ≥ 1")))
    }

    /// The generator step: SW between D's features of `real` and of a generated batch (D's
    /// parameters take no gradient; its input does), then the EMA update. Returns the loss.
    fn g_step(
        &mut self,
        step: usize,
        t: &GanTrain,
        loss: &LossConfig,
        real: Tensor<4>,
        noise: &Noise,
        kept: numerics::Kept,
    ) -> Result<f64> {
        let d = self.d.clone().no_grad();
        let real_features = d.forward(real).feature_vector().detach();
        let fake_features = d.forward(self.g.forward(noise.draw())).feature_vector();
        let at = format!("generator step {step}");
        let g_loss = loss
            .forward(
                &Measure::new(real_features.unsqueeze_dim::<3>(0)),
                &Measure::new(fake_features.unsqueeze_dim::<3>(0)),
            )
            .with_context(|| numerics::stopped_at(&at, kept))?;
        let (g_loss_value, grads) =
            numerics::checked_backward(g_loss, &self.g, "generator loss", &at, kept)?;
        self.g = self.opt_g.step(t.lr_generator, self.g.clone(), grads);
        sync_running_state(&self.g);
        sync_running_state(&self.d);
        self.ema = ema_update(self.ema.clone(), &self.g, t.ema);
        Ok(g_loss_value)
    }
}

/// `checkpoints/step-<step>/` through [`crate::checkpoint::save`] (checksummed, atomic; a
/// failed write leaves the previous checkpoints as they were), then the oldest beyond `keep`
/// (at least 2) are removed.
fn save_checkpoint(run: &RunDir, step: usize, seconds: f64, s: &State, keep: usize) -> Result<()> {
    let name = format!("step-{step}");
    crate::checkpoint::save(run.path(), &name, step, seconds, Role::Latest, |tmp| {
        let err = |what: &'static str| move |e| anyhow!("saving the {what}: {e:?}");
        s.g.clone()
            .save_file(tmp.join("generator.bpk"))
            .map_err(err("generator"))?;
        s.d.clone()
            .save_file(tmp.join("discriminator.bpk"))
            .map_err(err("discriminator"))?;
        s.ema
            .clone()
            .save_file(tmp.join("ema_generator.bpk"))
            .map_err(err("EMA generator"))?;
        s.opt_g
            .save(tmp.join("optimizer_generator.bpk"))
            .map_err(err("generator's optimizer"))?;
        s.opt_d
            .save(tmp.join("optimizer_discriminator.bpk"))
            .map_err(err("discriminator's optimizer"))?;
        Ok(())
    })?;
    crate::checkpoint::prune(run.path(), "step-", keep)
}

/// The outputs due after generator step `step`: the EMA generator's sample grid and the
/// periodic FID / IS (its noise seeded from (seed, step), so a resumed run scores the same).
#[allow(clippy::too_many_arguments)] // the run's pieces a step's outputs read
fn step_outputs(
    run: &RunDir,
    train: &GanTrain,
    state: &State,
    step: usize,
    grid_z: &Tensor<2>,
    scoring: Option<&mut PeriodicEval>,
    plain: &Device,
    seed: u64,
) -> Result<()> {
    if due(step, train.sample_every.max(1), train.generator_steps) {
        let grid = state.ema.forward(grid_z.clone());
        datasets::image::save_grid(&run.file(&format!("samples/step-{step:07}.png"))?, grid, 8)?;
    }
    if let Some(scorer) = scoring.filter(|scorer| scorer.due(step, train.generator_steps)) {
        plain.seed(mix(seed ^ EVAL_SEED, step as u64));
        let scores = scorer.run(run.path(), &state.ema, grid_z.dims()[1], step, plain)?;
        run.log(&format!(
            "step {step}: FID {:.3}, IS {:.3} ± {:.3} (EMA generator)",
            scores.fid, scores.is_mean, scores.is_std
        ));
    }
    Ok(())
}

/// Checks what needs no data, then opens the images and the scoring network, all before the
/// run folder exists (a bad path or size fails without leaving an empty run behind).
fn open_inputs(
    cfg: &SnganConfig,
    path: &str,
    seed: u64,
    plain: &Device,
) -> Result<(Images, Option<PeriodicEval>)> {
    // One generator-loss evaluation compares a pair of B-point clouds of D's feature vectors
    // (ch·side² + 1 dimensions): a size over [loss] memory_budget is refused.
    cfg.loss
        .plan_memory(
            1,
            cfg.train.batch_size,
            cfg.train.batch_size,
            cfg.discriminator.feature_dim(),
            burn::tensor::DType::F32,
        )
        .map_err(|e| anyhow!("{path}: [loss] {e}"))?;
    let size = cfg.generator.resolution.size();
    let images = Images::open(&cfg.data, size, seed).with_context(|| format!("{path}: [data]"))?;
    let found = images.size()?;
    if found != size {
        bail!(
            "{path}: the images are {found}×{found} but [generator] resolution is {size}; set resolution = {}",
            Resolution::from_size(found).map_or("32 or 64".into(), |r| r.size().to_string())
        );
    }
    let scoring = cfg
        .eval
        .as_ref()
        .filter(|e| e.enabled())
        .map(|e| PeriodicEval::open(e, plain, path))
        .transpose()?;
    if images.len() < cfg.train.batch_size {
        bail!(
            "{path}: [train] batch_size = {} but the data has {} images",
            cfg.train.batch_size,
            images.len()
        );
    }
    Ok((images, scoring))
}

/// The losses and step times since the last `metrics.csv` row.
#[derive(Default)]
struct LossWindow {
    d: f64,
    g: f64,
    steps: usize,
    seconds: f64,
}

impl LossWindow {
    fn add(&mut self, d: f64, g: f64, seconds: f64) {
        (self.d, self.g, self.steps, self.seconds) = (
            self.d + d,
            self.g + g,
            self.steps + 1,
            self.seconds + seconds,
        );
    }

    /// One `metrics.csv` row and log line of the window's means; the window starts again.
    fn write(
        &mut self,
        metrics: &mut csv::Writer<std::fs::File>,
        run: &RunDir,
        step: usize,
        total_seconds: f64,
    ) -> Result<()> {
        let n = self.steps.max(1) as f64;
        let (d, g, s) = (self.d / n, self.g / n, self.seconds / n);
        metrics.write_record([
            step.to_string(),
            format!("{d:.6e}"),
            format!("{g:.6e}"),
            format!("{s:.4}"),
            format!("{total_seconds:.1}"),
        ])?;
        metrics.flush()?;
        run.log(&format!(
            "step {step}: D loss {d:.4}, G loss {g:.4}, {s:.3} s/step"
        ));
        *self = Self::default();
        Ok(())
    }
}

/// Trains (or resumes `resume`'s run) and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli, resume: Option<&Path>) -> Result<()> {
    let cfg: SnganConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    checked(&cfg, &path)?;
    let (g_cfg, d_cfg) = (cfg.generator.clone(), cfg.discriminator.clone());
    let Opening {
        seed,
        device_name,
        device: plain,
    } = Opening::resolve(cli, &cfg.header)?;
    let device = plain.clone().autodiff();
    device.seed(seed);
    let size = g_cfg.resolution.size();
    let train = cfg.train.clone();
    let (images, mut scoring) = open_inputs(&cfg, &path, seed, &plain)?;
    let run = RunDir::open_or_create(
        resume,
        cli.from_checkpoint.as_deref(),
        cli.out.as_deref(),
        loaded,
    )?;
    println!("run folder: {}", run.path().display());
    let (mut state, first, mut seconds) = State::start(&cfg, &device, &run, scoring.as_mut())?;
    let loss = LossConfig {
        reduction: BatchReduction::Mean,
        ..cfg.loss.clone()
    };
    run.log(&format!(
        "sngan: {} images of {size}², G {} ch, D {} ch, loss {} (L = {}), device {device_name}",
        images.len(),
        g_cfg.channels,
        d_cfg.channels,
        cfg.loss.kind,
        cfg.loss.projections
    ));
    let grid_z = fixed_noise(g_cfg.latent, seed, 64, &plain);
    let mut metrics = crate::run_dir::append_csv(
        &run.file("metrics.csv")?,
        &["step", "d_loss", "g_loss", "seconds_per_step", "seconds"],
    )?;
    let mut schedule = Schedule {
        n: images.len(),
        batch: train.batch_size,
        seed,
        epoch: None,
    };
    let interrupt = Interrupt::install("step");
    let mut progress = Progress::new("generator steps", train.generator_steps as u64);
    progress.inc((first - 1) as u64, String::new);
    let mut window = LossWindow::default();
    let kept = numerics::Kept::Checkpoints(run.path());
    for step in first..=train.generator_steps {
        let start = Instant::now();
        device.seed(mix(seed, step as u64));
        let noise = Noise {
            shape: [train.batch_size, g_cfg.latent],
            device: &device,
        };
        let (d_loss_value, real) =
            state.d_steps(step, &train, &images, &mut schedule, &noise, kept)?;
        let g_loss_value = state.g_step(step, &train, &loss, real, &noise, kept)?;
        let elapsed = start.elapsed().as_secs_f64();
        seconds += elapsed;
        window.add(d_loss_value, g_loss_value, elapsed);
        let last = step == train.generator_steps;
        let stop = interrupt.requested();
        if due(step, train.log_every.max(1), train.generator_steps) || stop {
            window.write(&mut metrics, &run, step, seconds)?;
        }
        step_outputs(
            &run,
            &train,
            &state,
            step,
            &grid_z,
            scoring.as_mut(),
            &plain,
            seed,
        )?;
        if due(step, train.checkpoint_every.max(1), train.generator_steps) || stop {
            save_checkpoint(&run, step, seconds, &state, train.keep_checkpoints)?;
        }
        progress.inc(1, || format!("D {d_loss_value:.3} G {g_loss_value:.4}"));
        if stop && !last {
            progress.finish();
            loss_curves(&run)?;
            run.log(&format!(
                "interrupted after step {step}; checkpoint written"
            ));
            println!(
                "stopped after generator step {step}; continue with: experiments --resume {}",
                run.path().display()
            );
            return Ok(());
        }
    }
    progress.finish();
    loss_curves(&run)?;
    println!("outputs in {}", run.path().display());
    Ok(())
}

/// `losses.png` from the whole metrics.csv (resumed runs included).
fn loss_curves(run: &RunDir) -> Result<()> {
    let mut reader = csv::Reader::from_path(run.path().join("metrics.csv"))?;
    let (mut d, mut g) = (Vec::new(), Vec::new());
    for row in reader.records() {
        let row = row?;
        let step: f64 = row[0].parse()?;
        d.push((step, row[1].parse::<f64>()?));
        g.push((step, row[2].parse::<f64>()?));
    }
    plots::line_plot(
        &run.file("losses.png")?,
        "SNGAN losses",
        "generator step",
        "loss",
        &[
            Series {
                label: "D (hinge)".into(),
                points: d,
            },
            Series {
                label: "G (feature SW)".into(),
                points: g,
            },
        ],
        false,
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::d_steps_before;

    /// The official order D0 G D1 … D5 G D6 …: G steps 1, 2, 3 follow D steps {0}, {1..5},
    /// {6..10}, and consecutive G steps cover every D step exactly once.
    #[test]
    fn generator_steps_follow_d_steps_0_5_10_as_in_the_official_loop() {
        assert_eq!(d_steps_before(1, 5).collect::<Vec<_>>(), [0]);
        assert_eq!(d_steps_before(2, 5).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(d_steps_before(3, 5).collect::<Vec<_>>(), [6, 7, 8, 9, 10]);
        let all: Vec<usize> = (1..=40).flat_map(|s| d_steps_before(s, 3)).collect();
        assert_eq!(all, (0..all.len()).collect::<Vec<_>>());
        assert_eq!(*d_steps_before(40, 3).end(), 3 * 39);
    }
}
