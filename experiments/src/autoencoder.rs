//! Point-cloud autoencoder training with SW-type losses (PointSWD; Self-Attention Amortized
//! DSW): `sw`, `max-sw`, `v-dsw`, and the amortized min–max — per batch, one Adam step of the
//! amortized model that maximises the projected distance on detached clouds, then one SGD step
//! of the autoencoder minimising SW₂² under the detached predicted direction(s).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::Tensor;
use datasets::PointCloud;
use datasets::shapenet::{CloudBatcher, CloudItem, ShapeNet};
use datasets::synthetic::Shape;
use models::amortized::{AmortizedConfig, AmortizedKind, Amortizer};
use models::mesh_ode::metrics::point_metrics;
use models::pointnet::PointNetConfig;
use serde::{Deserialize, Serialize};
use sw_loss::{Directions, LossConfig, Measure, Reduction, sw_pp_with_directions};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// `configs/synthetic_ae.toml` and the ShapeNet configs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// Always `"autoencoder"`.
    pub experiment: String,
    /// One line for `experiments list`.
    #[serde(default)]
    pub description: String,
    /// Seed of the device RNG, the shuffling and synthetic data.
    #[serde(default = "one")]
    pub seed: u64,
    /// Backend name (overridden by `--device`).
    #[serde(default)]
    pub device: Option<String>,
    /// The clouds.
    #[serde(default)]
    pub data: AeData,
    /// The autoencoder.
    #[serde(default)]
    pub model: PointNetConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: AeTrain,
    /// The loss (`sw`, `max-sw`, `v-dsw`; with `[amortized]`, the amortized version).
    #[serde(default)]
    pub loss: LossConfig,
    /// The amortized model, for `amortized-max-sw` (loss.kind = "max-sw") or `amortized-v-dsw`
    /// (loss.kind = "v-dsw").
    #[serde(default)]
    pub amortized: Option<AmortizedTrain>,
}

fn one() -> u64 {
    1
}

/// `[data]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AeData {
    /// A ShapeNet `.npz`/`.npy` of `(N, P, 3)` clouds; when absent, synthetic clouds.
    pub file: Option<PathBuf>,
    /// Number of synthetic clouds (random shapes and seeds).
    pub synthetic_clouds: usize,
    /// Points per training cloud (resampled with replacement each batch).
    pub points: usize,
    /// Clouds held out for evaluation.
    pub held_out: usize,
}

impl Default for AeData {
    fn default() -> Self {
        Self {
            file: None,
            synthetic_clouds: 512,
            points: 2048,
            held_out: 32,
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AeTrain {
    /// Passes over the data.
    pub epochs: usize,
    /// Clouds per batch.
    pub batch_size: usize,
    /// SGD step size.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// SGD weight decay.
    pub weight_decay: f64,
    /// Save a checkpoint every this many epochs (and after the last).
    pub checkpoint_every: usize,
}

impl Default for AeTrain {
    fn default() -> Self {
        Self {
            epochs: 300,
            batch_size: 128,
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 5e-4,
            checkpoint_every: 10,
        }
    }
}

/// `[amortized]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmortizedTrain {
    /// The amortized model.
    pub kind: AmortizedKind,
    /// Adam step size (β = (0, 0.9)).
    #[serde(default = "amortized_lr")]
    pub lr: f64,
}

fn amortized_lr() -> f64 {
    1e-3
}

fn training_set(cfg: &AeData, seed: u64) -> Result<(Vec<CloudItem>, Vec<CloudItem>)> {
    let all: Vec<CloudItem> = match &cfg.file {
        Some(path) => {
            let ds = ShapeNet::open(path).context("[data] file")?;
            (0..ds.len())
                .map(|i| ds.get(i).map_err(|e| anyhow!("{e}")))
                .collect::<Result<_>>()?
        }
        None => (0..cfg.synthetic_clouds)
            .map(|i| {
                let shape = Shape::ALL[i % Shape::ALL.len()];
                CloudItem {
                    cloud: shape
                        .sample(cfg.points, seed.wrapping_mul(1000).wrapping_add(i as u64))
                        .normalized(),
                    label: (i % Shape::ALL.len()) as u8,
                }
            })
            .collect(),
    };
    if all.len() <= cfg.held_out {
        bail!(
            "[data] needs more than held_out = {} clouds, has {}",
            cfg.held_out,
            all.len()
        );
    }
    let split = all.len() - cfg.held_out;
    Ok((all[..split].to_vec(), all[split..].to_vec()))
}

fn directions_from(
    amortizer: &Amortizer,
    x: &Tensor<3>,
    y: &Tensor<3>,
    loss: &LossConfig,
) -> Result<Tensor<3>> {
    let mu = amortizer.forward(x.clone(), y.clone()); // [B, 3]
    Ok(if loss.kind == sw_loss::EstimatorKind::VDsw {
        sw_loss::vmf::sample(mu, loss.kappa, loss.projections)? // [B, L, 3]
    } else {
        mu.unsqueeze_dim::<3>(1) // [B, 1, 3]
    })
}

/// Writes a checkpoint atomically: files go to `checkpoints/epoch-K.tmp/`, which is renamed to
/// `checkpoints/epoch-K/`, and only then does `checkpoints/LATEST` (written to a temporary file
/// and renamed) name it. A checkpoint interrupted half-way is never referenced.
fn save_checkpoint(
    run: &RunDir,
    epoch: usize,
    seconds: f64,
    ae: &models::pointnet::PointNetAutoencoder,
    sgd: &burn::optim::ModuleOptimizer,
    amortizer: Option<&Amortizer>,
    adam: &burn::optim::ModuleOptimizer,
) -> Result<()> {
    let dir = run.path().join("checkpoints");
    let tmp = dir.join(format!("epoch-{epoch}.tmp"));
    let done = dir.join(format!("epoch-{epoch}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    ae.clone()
        .save_file(tmp.join("model.bpk"))
        .map_err(|e| anyhow!("saving the model: {e:?}"))?;
    sgd.save(tmp.join("optimizer.bpk"))
        .map_err(|e| anyhow!("saving the optimizer: {e:?}"))?;
    if let Some(a) = amortizer {
        a.clone()
            .save_file(tmp.join("amortizer.bpk"))
            .map_err(|e| anyhow!("saving the amortizer: {e:?}"))?;
        adam.save(tmp.join("amortizer_optimizer.bpk"))
            .map_err(|e| anyhow!("saving the amortizer's optimizer: {e:?}"))?;
    }
    std::fs::write(tmp.join("state"), format!("{epoch}\n{seconds}\n"))?;
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&tmp, &done)?;
    std::fs::write(dir.join("LATEST.tmp"), format!("epoch-{epoch}"))?;
    std::fs::rename(dir.join("LATEST.tmp"), dir.join("LATEST"))?;
    Ok(())
}

/// Trains the autoencoder (or resumes `resume`'s run) and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli, resume: Option<&std::path::Path>) -> Result<()> {
    let cfg: AutoencoderConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    cfg.loss
        .validate()
        .map_err(|e| anyhow!("{path}: [loss] {e}"))?;
    if cfg.train.epochs == 0 || cfg.train.batch_size == 0 || !(cfg.train.lr > 0.0) {
        bail!("{path}: [train] epochs and batch_size must be positive and lr > 0");
    }
    if cfg.amortized.is_some()
        && !matches!(
            cfg.loss.kind,
            sw_loss::EstimatorKind::MaxSw | sw_loss::EstimatorKind::VDsw
        )
    {
        bail!(
            "{path}: [amortized] needs loss.kind = \"max-sw\" (amortized Max-SW) or \"v-dsw\" (amortized v-DSW)"
        );
    }
    let seed = cli.seed.unwrap_or(cfg.seed);
    let device_name = cli
        .device
        .clone()
        .or(cfg.device.clone())
        .unwrap_or_else(|| "flex".into());
    let device = crate::device::parse(&device_name)?.autodiff();
    device.seed(seed);
    let (train, held_out) = training_set(&cfg.data, seed).with_context(|| path.clone())?;
    let run = match resume {
        Some(dir) => RunDir::reopen(dir)?,
        None => RunDir::create(
            &cli.out.clone().unwrap_or_else(|| PathBuf::from("runs")),
            &loaded.name,
            &loaded.resolved(),
        )?,
    };
    println!("run folder: {}", run.path().display());
    let model_cfg = PointNetConfig {
        points: cfg.data.points,
        ..cfg.model.clone()
    };
    let mut ae = model_cfg.init(&device);
    let mut sgd = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: cfg.train.momentum,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig {
            penalty: cfg.train.weight_decay as f32,
        }))
        .init();
    let mut amortizer = cfg
        .amortized
        .as_ref()
        .map(|a| AmortizedConfig::new(a.kind, cfg.data.points).init(&device));
    let mut adam = AdamConfig::new().with_beta_1(0.0).with_beta_2(0.9).init();
    let mut first_epoch = 1;
    let mut resumed_seconds = 0.0;
    if let Some(dir) = resume {
        let ckpt = dir.join("checkpoints");
        let latest = std::fs::read_to_string(ckpt.join("LATEST")).map_err(|_| {
            anyhow!(
                "{}: no checkpoint to resume from (checkpoints/LATEST is missing)",
                dir.display()
            )
        })?;
        let ckpt = ckpt.join(latest.trim());
        let state = std::fs::read_to_string(ckpt.join("state"))
            .with_context(|| format!("{}: reading the checkpoint state", ckpt.display()))?;
        let mut lines = state.lines();
        let epoch: usize = lines
            .next()
            .unwrap_or("")
            .parse()
            .context("checkpoint epoch")?;
        resumed_seconds = lines
            .next()
            .unwrap_or("0")
            .parse()
            .context("checkpoint seconds")?;
        ae = ae
            .try_load_file(ckpt.join("model.bpk"))
            .map_err(|e| anyhow!("{}: loading the model: {e:?}", ckpt.display()))?;
        sgd = sgd
            .load(ckpt.join("optimizer.bpk"))
            .map_err(|e| anyhow!("{}: loading the optimizer: {e:?}", ckpt.display()))?;
        if let Some(a) = amortizer.take() {
            amortizer = Some(
                a.try_load_file(ckpt.join("amortizer.bpk"))
                    .map_err(|e| anyhow!("{}: loading the amortizer: {e:?}", ckpt.display()))?,
            );
            adam = adam
                .load(ckpt.join("amortizer_optimizer.bpk"))
                .map_err(|e| {
                    anyhow!(
                        "{}: loading the amortizer's optimizer: {e:?}",
                        ckpt.display()
                    )
                })?;
        }
        first_epoch = epoch + 1;
        run.log(&format!("resumed from {} (epoch {epoch})", ckpt.display()));
        println!("resuming after epoch {epoch}");
    }
    let loss_cfg = LossConfig {
        power: true,
        reduction: Reduction::Mean,
        ..cfg.loss.clone()
    };
    let label = match (&cfg.amortized, cfg.loss.kind) {
        (Some(a), kind) => format!("amortized-{kind} ({:?})", a.kind),
        (None, kind) => kind.to_string(),
    };
    run.log(&format!(
        "autoencoder: {} training / {} held-out clouds, loss {label}, device {device_name}",
        train.len(),
        held_out.len()
    ));

    let eval_x = Tensor::<3>::from_data(
        burn::tensor::TensorData::new(
            held_out
                .iter()
                .flat_map(|c| c.cloud.points.clone())
                .collect::<Vec<f32>>(),
            [held_out.len(), held_out[0].cloud.len(), 3],
        ),
        &device.clone().inner(),
    );
    let metrics_path = run.file("metrics.csv")?;
    let fresh = !metrics_path.exists();
    let metrics_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)?;
    let mut metrics = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(metrics_file);
    if fresh {
        metrics.write_record(["epoch", "train_loss", "held_out_chamfer", "seconds"])?;
    }
    let mut curve = Vec::new();
    let mut seconds = resumed_seconds;
    let mut progress = Progress::new("epochs", cfg.train.epochs as u64);
    progress.inc((first_epoch - 1) as u64, String::new);
    for epoch in first_epoch..=cfg.train.epochs {
        let start = Instant::now();
        // Everything random in an epoch derives from (seed, epoch), so a run resumed from a
        // checkpoint continues exactly as the uninterrupted run would.
        let epoch_seed = seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(epoch as u64);
        device.seed(epoch_seed);
        let loader: Arc<_> =
            DataLoaderBuilder::new(CloudBatcher::resample(cfg.data.points, epoch_seed))
                .batch_size(cfg.train.batch_size)
                .shuffle(epoch_seed)
                .set_device(device.clone())
                .build(InMemDataset::new(train.clone()));
        let (mut total, mut batches) = (0.0, 0usize);
        for batch in loader.iter() {
            let x = batch.map_err(|e| anyhow!("loading a batch: {e}"))?.points;
            let recon = ae.forward(x.clone());
            let loss = match amortizer.take() {
                Some(mut amort) => {
                    let (xd, rd) = (x.clone().detach(), recon.clone().detach());
                    let dirs = directions_from(&amort, &xd, &rd, &cfg.loss)?;
                    let ascent = sw_pp_with_directions(
                        &Measure::new(xd.clone()),
                        &Measure::new(rd.clone()),
                        &Directions::PerPair(dirs),
                        2.0,
                        Reduction::Mean,
                    )?;
                    let grads = GradientsParams::from_grads(ascent.neg().backward(), &amort);
                    amort = adam.step(cfg.amortized.as_ref().expect("set").lr, amort, grads);
                    let dirs = directions_from(&amort, &xd, &rd, &cfg.loss)?.detach();
                    amortizer = Some(amort);
                    sw_pp_with_directions(
                        &Measure::new(recon),
                        &Measure::new(x),
                        &Directions::PerPair(dirs),
                        2.0,
                        Reduction::Mean,
                    )?
                }
                None => loss_cfg.forward(&Measure::new(recon), &Measure::new(x))?,
            };
            total += loss.clone().into_scalar::<f32>() as f64;
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &ae);
            ae = sgd.step(cfg.train.lr, ae, grads);
        }
        seconds += start.elapsed().as_secs_f64();
        let mean = total / batches.max(1) as f64;
        let recon: Vec<f32> = ae
            .forward(eval_x.clone().autodiff())
            .inner()
            .into_data()
            .try_to_vec()
            .map_err(|e| anyhow!("{e:?}"))?;
        let input: Vec<f32> = eval_x
            .clone()
            .into_data()
            .try_to_vec()
            .map_err(|e| anyhow!("{e:?}"))?;
        let per = cfg.data.points * 3;
        let chamfer = (0..held_out.len())
            .map(|i| {
                point_metrics(
                    &recon[i * per..(i + 1) * per],
                    &input[i * per..(i + 1) * per],
                )
                .chamfer
            })
            .sum::<f64>()
            / held_out.len() as f64;
        metrics.write_record([
            epoch.to_string(),
            format!("{mean:.6e}"),
            format!("{chamfer:.6e}"),
            format!("{seconds:.3}"),
        ])?;
        metrics.flush()?;
        run.log(&format!(
            "epoch {epoch}: train loss {mean:.5}, held-out Chamfer {chamfer:.5}"
        ));
        curve.push((epoch as f64, mean));
        progress.inc(1, || format!("loss {mean:.5} chamfer {chamfer:.5}"));
        if epoch % cfg.train.checkpoint_every.max(1) == 0 || epoch == cfg.train.epochs {
            save_checkpoint(&run, epoch, seconds, &ae, &sgd, amortizer.as_ref(), &adam)?;
        }
        if epoch == cfg.train.epochs {
            for i in 0..held_out.len().min(4) {
                let (a, b) = (
                    &input[i * per..(i + 1) * per],
                    &recon[i * per..(i + 1) * per],
                );
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
                    &format!("held-out cloud {i}"),
                    &[("input", a), ("reconstruction", b)],
                )?;
            }
        }
    }
    progress.finish();
    plots::line_plot(
        &run.file("loss_vs_epoch.png")?,
        &format!("Autoencoder, {label}"),
        "epoch",
        "training loss (SW2^2)",
        &[Series {
            label,
            points: curve,
        }],
        false,
        true,
    )?;
    println!("outputs in {}", run.path().display());
    Ok(())
}
