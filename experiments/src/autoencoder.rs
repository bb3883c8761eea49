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
use rayon::prelude::*;
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
    crate::run_dir::commit_checkpoint(run.path(), &format!("epoch-{epoch}"), epoch, seconds)?;
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
    let (device_name, device) =
        crate::device::resolve(cli.device.as_deref(), cfg.device.as_deref())?;
    let device = device.autodiff();
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
        let (ckpt, epoch, seconds) = crate::run_dir::latest_checkpoint(dir)?;
        resumed_seconds = seconds;
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
    let mut metrics = crate::run_dir::append_csv(
        &run.file("metrics.csv")?,
        &["epoch", "train_loss", "held_out_chamfer", "seconds"],
    )?;
    let mut curve = Vec::new();
    let mut seconds = resumed_seconds;
    let mut progress = Progress::new("epochs", cfg.train.epochs as u64);
    progress.inc((first_epoch - 1) as u64, String::new);
    // Ctrl-C: finish the current epoch, checkpoint it, and stop; a second Ctrl-C quits at once.
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted: finishing this epoch and writing a checkpoint (Ctrl-C again to quit now)"
            );
        });
    }
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
        // Evaluation mode: batch norm uses its running statistics and does not update them
        // with the held-out clouds (`valid()` also folds the last training update into them).
        let recon: Vec<f32> = ae
            .valid()
            .forward(eval_x.clone())
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
        let stop = interrupted.load(std::sync::atomic::Ordering::SeqCst);
        if stop || epoch % cfg.train.checkpoint_every.max(1) == 0 || epoch == cfg.train.epochs {
            save_checkpoint(&run, epoch, seconds, &ae, &sgd, amortizer.as_ref(), &adam)?;
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

/// Loads the latest checkpoint's autoencoder of `run_dir`.
fn load_trained(
    run_dir: &std::path::Path,
    device: &burn::tensor::Device,
) -> Result<(AutoencoderConfig, models::pointnet::PointNetAutoencoder)> {
    let loaded = crate::config::load(&run_dir.join("config.toml"), &[])?;
    if loaded.experiment != "autoencoder" {
        bail!(
            "{}: not an autoencoder run (experiment = {})",
            run_dir.display(),
            loaded.experiment
        );
    }
    let cfg: AutoencoderConfig = loaded.parse()?;
    let (ckpt, _, _) = crate::run_dir::latest_checkpoint(run_dir)?;
    let model = PointNetConfig {
        points: cfg.data.points,
        ..cfg.model.clone()
    }
    .init(device);
    let model = model
        .try_load_file(ckpt.join("model.bpk"))
        .map_err(|e| anyhow!("{}: loading the model: {e:?}", run_dir.display()))?;
    Ok((cfg, model))
}

/// Latent codes `[N, latent]` and (with `decode`) reconstructions `[N, points, 3]` of clouds,
/// in batches (inference).
fn encode_all(
    model: &models::pointnet::PointNetAutoencoder,
    clouds: &[CloudItem],
    points: usize,
    device: &burn::tensor::Device,
    decode: bool,
) -> (Vec<f32>, Vec<f32>) {
    let (mut codes, mut recons) = (Vec::new(), Vec::new());
    // The encoder's widest activation is [chunk, points, 1024] f32; keep it within 128 MiB,
    // the smallest storage-buffer limit a wgpu device may have (lavapipe's, WebGPU's default).
    let chunk_len = ((128usize << 20) / (points.max(1) * 1024 * 4)).clamp(1, 64);
    for chunk in clouds.chunks(chunk_len) {
        let flat: Vec<f32> = chunk.iter().flat_map(|c| c.cloud.points.clone()).collect();
        let x = Tensor::<3>::from_data(
            burn::tensor::TensorData::new(flat, [chunk.len(), points, 3]),
            device,
        );
        let z = model.encode(x);
        if decode {
            recons.extend(
                model
                    .decode(z.clone())
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32"),
            );
        }
        codes.extend(
            z.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32"),
        );
    }
    (codes, recons)
}

/// Mean over pairs of SW₂(reconstruction, target) with the given directions; clouds are
/// row-major `[N, points, 3]`, taken `chunk` pairs at a time so the `[chunk, L, points]`
/// projections stay small on any device.
fn mean_pair_sw(
    recons: &[f32],
    targets: &[f32],
    points: usize,
    dirs: &Directions,
    device: &burn::tensor::Device,
    chunk: usize,
) -> Result<f64> {
    let per = points * 3;
    let n = targets.len() / per;
    let mut total = 0.0;
    for (x, y) in recons.chunks(chunk * per).zip(targets.chunks(chunk * per)) {
        let k = x.len() / per;
        let t = |v: &[f32]| {
            Measure::new(Tensor::<3>::from_data(
                burn::tensor::TensorData::new(v.to_vec(), [k, points, 3]),
                device,
            ))
        };
        total += sw_loss::sw_with_directions(&t(x), &t(y), dirs, 2.0, Reduction::Sum)?
            .into_scalar::<f32>() as f64;
    }
    Ok(total / n.max(1) as f64)
}

/// Softmax regression on codes (full-batch Adam), returns test accuracy.
fn linear_probe(
    train: (&[f32], &[u8]),
    test: (&[f32], &[u8]),
    dim: usize,
    device: &burn::tensor::Device,
) -> f64 {
    use burn::nn::{Linear, LinearConfig};
    let classes = train.1.iter().chain(test.1).copied().max().unwrap_or(0) as usize + 1;
    let ad = device.clone().autodiff();
    let x = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(train.0.to_vec(), [train.1.len(), dim]),
        &ad,
    );
    let y = Tensor::<1, burn::tensor::Int>::from_data(
        burn::tensor::TensorData::new(
            train.1.iter().map(|&l| l as i64).collect::<Vec<_>>(),
            [train.1.len()],
        ),
        &ad,
    );
    let mut probe: Linear = LinearConfig::new(dim, classes).init(&ad);
    let mut optim = AdamConfig::new().init();
    for _ in 0..300 {
        let logits = probe.forward(x.clone());
        let loss = burn::nn::loss::CrossEntropyLossConfig::new()
            .init(&ad)
            .forward(logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &probe);
        probe = optim.step(1e-2, probe, grads);
    }
    let xt = Tensor::<2>::from_data(
        burn::tensor::TensorData::new(test.0.to_vec(), [test.1.len(), dim]),
        &ad,
    );
    let pred: Vec<i64> = probe
        .forward(xt)
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("i64");
    pred.iter()
        .zip(test.1)
        .filter(|(p, l)| **p == **l as i64)
        .count() as f64
        / test.1.len().max(1) as f64
}

/// `experiments eval-ae`: the paper's reconstruction table (CD×100, SW×100, EMD summed over
/// points) with mean ± std over `seeds` draws of the SW directions, and latent-code transfer
/// (a linear classifier trained on train codes, accuracy on test codes).
pub fn evaluate(
    run_dir: &std::path::Path,
    data: Option<PathBuf>,
    subset: Option<usize>,
    seeds: u64,
    synthetic: bool,
    cli: &Cli,
) -> Result<()> {
    let (_, device) = crate::device::resolve(cli.device.as_deref(), None)?;
    let (cfg, model) = load_trained(run_dir, &device)?;
    let points = cfg.data.points;
    let (train, test) = if synthetic {
        let data = AeData {
            file: None,
            synthetic_clouds: 2 * subset.unwrap_or(64),
            points,
            held_out: subset.unwrap_or(64),
        };
        training_set(&data, cfg.seed.wrapping_add(999))?
    } else {
        use datasets::modelnet::{ModelNet40, ModelNetSplit};
        let root = data.unwrap_or_else(datasets::download::data_dir);
        let load = |split| -> Result<Vec<CloudItem>> {
            let ds = ModelNet40::load(&root, split)?;
            (0..ds.len())
                .map(|i| {
                    ds.get(i).map_err(|e| anyhow!("{e}")).map(|c| CloudItem {
                        cloud: c.cloud.normalized(),
                        label: c.label,
                    })
                })
                .collect()
        };
        (load(ModelNetSplit::Train)?, load(ModelNetSplit::Test)?)
    };
    if train.iter().chain(&test).any(|c| c.cloud.len() != points) {
        bail!("the model decodes {points} points but the evaluation clouds have a different size");
    }
    let test: Vec<CloudItem> = test
        .into_iter()
        .take(subset.unwrap_or(usize::MAX))
        .collect();
    let (test_codes, recons) = encode_all(&model, &test, points, &device, true);
    let (train_codes, _) = encode_all(&model, &train, points, &device, false);
    let per = points * 3;
    // Chamfer and exact EMD per test cloud, clouds in parallel (one assignment problem each;
    // ~1 s per 2048-point cloud on one core), in blocks so the bar moves.
    let (mut cd, mut emd) = (Vec::new(), Vec::new());
    let mut progress = Progress::new("eval", test.len() as u64);
    let block = 8 * rayon::current_num_threads();
    for (b, clouds) in test.chunks(block).enumerate() {
        let metrics: Vec<(f64, f64)> = clouds
            .par_iter()
            .enumerate()
            .map(|(k, c)| {
                let i = b * block + k;
                let r = &recons[i * per..(i + 1) * per];
                let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
                let emd = sw_loss::exact_emd(&to64(r), &to64(&c.cloud.points), 3)?;
                Ok((100.0 * point_metrics(r, &c.cloud.points).chamfer, emd))
            })
            .collect::<Result<_>>()?;
        cd.extend(metrics.iter().map(|m| m.0));
        emd.extend(metrics.iter().map(|m| m.1));
        progress.inc(clouds.len() as u64, String::new);
    }
    progress.finish();
    // SW₂ per pair with L = 100 fresh directions per seed.
    let targets: Vec<f32> = test.iter().flat_map(|c| c.cloud.points.clone()).collect();
    let mut sw_means = Vec::new();
    for s in 0..seeds.max(1) {
        device.seed(s);
        let dirs = Directions::Shared(sw_loss::directions::uniform(100, 3, &device));
        sw_means.push(100.0 * mean_pair_sw(&recons, &targets, points, &dirs, &device, 64)?);
    }
    let stats = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt();
        (m, sd)
    };
    let latent = cfg.model.latent;
    let accuracy = linear_probe(
        (
            &train_codes,
            &train.iter().map(|c| c.label).collect::<Vec<_>>(),
        ),
        (
            &test_codes,
            &test.iter().map(|c| c.label).collect::<Vec<_>>(),
        ),
        latent,
        &device,
    );
    let ((cdm, cds), (swm, sws), (emm, ems)) = (stats(&cd), stats(&sw_means), stats(&emd));
    let table = format!(
        "\n{} test clouds, {points} points\nCD ×100      {cdm:.3} ± {cds:.3}\nSW ×100      {swm:.3} ± {sws:.3}   (L = 100, {} seeds)\nEMD (sum)    {emm:.2} ± {ems:.2}   (Σ of matched distances, exact assignment)\nlatent probe accuracy {:.1}% ({} train codes)\n",
        test.len(),
        seeds.max(1),
        100.0 * accuracy,
        train.len()
    );
    println!("{table}");
    let out = run_dir.join("eval");
    std::fs::create_dir_all(&out)?;
    let mut w = csv::Writer::from_path(out.join(format!(
        "eval-{}.csv",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    )))?;
    w.write_record(["metric", "mean", "std"])?;
    for (name, (m, s)) in [
        ("cd_x100", (cdm, cds)),
        ("sw_x100", (swm, sws)),
        ("emd_sum", (emm, ems)),
        ("latent_accuracy", (accuracy, 0.0)),
    ] {
        w.write_record([name.to_string(), format!("{m:.6}"), format!("{s:.6}")])?;
    }
    w.flush()?;
    for i in 0..test.len().min(4) {
        let (a, b) = (&test[i].cloud.points, &recons[i * per..(i + 1) * per]);
        plots::cloud_views(
            &out.join(format!("pair{i}.png")),
            &format!("test cloud {i}"),
            &[("input", a), ("reconstruction", b)],
        )?;
        datasets::ply::write_cloud(
            out.join(format!("pair{i}_output.ply")),
            &PointCloud::new(b.to_vec()),
        )?;
    }
    println!("outputs in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_sw_in_chunks_equals_the_batch_mean() {
        let device = burn::tensor::Device::flex();
        let (n, points) = (23, 50);
        let make = |seed: u64| -> Vec<f32> {
            let mut s = seed;
            (0..n * points * 3)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (s >> 40) as f32 / (1u64 << 24) as f32
                })
                .collect()
        };
        let (x, y) = (make(1), make(2));
        device.seed(3);
        let dirs = Directions::Shared(sw_loss::directions::uniform(20, 3, &device));
        let whole = {
            let t = |v: &[f32]| {
                Measure::new(Tensor::<3>::from_data(
                    burn::tensor::TensorData::new(v.to_vec(), [n, points, 3]),
                    &device,
                ))
            };
            sw_loss::sw_with_directions(&t(&x), &t(&y), &dirs, 2.0, Reduction::Mean)
                .unwrap()
                .into_scalar::<f32>() as f64
        };
        for chunk in [1, 5, 7, 23, 64] {
            let v = mean_pair_sw(&x, &y, points, &dirs, &device, chunk).unwrap();
            assert!(
                (v - whole).abs() <= 1e-5 * whole,
                "chunk {chunk}: {v} vs {whole}"
            );
        }
    }
}
