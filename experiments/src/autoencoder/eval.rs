//! Evaluation as the SA-DSW paper reports it (hsgser/Self-Amortized-DSW
//! reconstruction/reconstruction_test.py and classification/linear_svm_classification.py):
//! per test cloud, batch size 1,
//!
//! ```text
//! Chamfer   mean_i min_j ‖x_i − y_j‖² + mean_j min_i ‖x_i − y_j‖²        (loss/chamfer.py)
//! SW        √(N · SW₂²) with L = 100 fresh uniform directions per cloud   (np.sqrt(SWD(100)))
//! EMD       approxmatch cost Σ_kl match_kl ‖x_k − y_l‖ (loss/emd.py)    — the paper's column
//! EMD exact min_σ Σ_k ‖x_k − y_σ(k)‖ (assignment)                        — ours, beside it
//! ```
//! each reported as mean and (sample) standard deviation over the clouds (`statistics.mean`,
//! `statistics.stdev`), and a linear SVM (scikit-learn `LinearSVC()` defaults) trained on the
//! 256-d codes of the ModelNet40 training clouds, accuracy on the test clouds. The model is
//! the `best/` checkpoint (lowest mean training loss, the official `model.pth`) unless
//! `--checkpoint latest`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use datasets::PointCloud;
use datasets::shapenet::CloudItem;
use models::evaluation::{DEFAULT_C, LinearSvc, approx_match};
use models::mesh_ode::metrics::point_metrics;
use models::pointnet::PointNetAutoencoder;
use rayon::prelude::*;
use sw_loss::{BatchReduction, Directions, Measure, sw_pp_with_directions};

use super::config::{AeData, AutoencoderConfig};
use super::data::training_set;
use crate::cli::Cli;
use crate::plots;
use crate::progress::Progress;

/// Mean and sample standard deviation (n − 1; 0 for fewer than two values), as Python's
/// `statistics.mean` / `statistics.stdev`.
pub(super) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    let m = v.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    (m, var.sqrt())
}

/// Evaluation clouds, each at its own number of points (a file may hold more points per cloud
/// than the model decodes).
pub(super) struct EvalClouds {
    inputs: Vec<Vec<f32>>,
}

impl EvalClouds {
    /// The clouds of `items`.
    pub(super) fn new(items: &[CloudItem]) -> Self {
        Self {
            inputs: items.iter().map(|c| c.cloud.points.clone()).collect(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Cloud `i`, row-major `[P_i, 3]`.
    pub(super) fn input(&self, i: usize) -> &[f32] {
        &self.inputs[i]
    }

    /// Reconstructions `[n, points, 3]` (row-major) in inference mode, in chunks of clouds of
    /// equal size small enough for any device (see [`encode`]).
    pub(super) fn reconstruct(&self, model: &PointNetAutoencoder, device: &Device) -> Vec<f32> {
        encode(model, &self.inputs, device, true).1
    }

    /// Chamfer per cloud (reconstruction with `points` points against the input).
    pub(super) fn chamfer(&self, recon: &[f32], points: usize) -> Vec<f64> {
        let per = points * 3;
        self.inputs
            .par_iter()
            .enumerate()
            .map(|(i, x)| point_metrics(&recon[i * per..(i + 1) * per], x).chamfer)
            .collect()
    }

    /// The paper's SW per cloud, √(N·SW₂²) with L = 100 fresh directions per cloud; `None`
    /// when some input does not have `points` points (the sorted matching needs equal sizes).
    pub(super) fn sw_metric(
        &self,
        recon: &[f32],
        points: usize,
        device: &Device,
    ) -> Result<Option<Vec<f64>>> {
        if self.inputs.iter().any(|x| x.len() != points * 3) {
            return Ok(None);
        }
        let targets: Vec<f32> = self.inputs.iter().flatten().copied().collect();
        Ok(Some(sw_metric_per_cloud(
            recon,
            &targets,
            points,
            device,
            SW_METRIC_CHUNK,
        )?))
    }
}

/// hsgser/Self-Amortized-DSW reconstruction_test.py: `num_projs` 100 (reconstruction/config.json).
pub(super) const SW_METRIC_PROJECTIONS: usize = 100;

/// Clouds whose SW metric is evaluated together (all their directions at once).
pub(super) const SW_METRIC_CHUNK: usize = 64;

/// √(N·SW₂²(recon_i, target_i)) for each pair of `[n, points, 3]` clouds, with L = 100
/// directions drawn afresh for every cloud, `chunk` pairs at a time.
pub(super) fn sw_metric_per_cloud(
    recons: &[f32],
    targets: &[f32],
    points: usize,
    device: &Device,
    chunk: usize,
) -> Result<Vec<f64>> {
    let per = points * 3;
    let mut out = Vec::with_capacity(targets.len() / per.max(1));
    for (x, y) in recons.chunks(chunk * per).zip(targets.chunks(chunk * per)) {
        let k = x.len() / per;
        let t = |v: &[f32]| {
            Measure::new(Tensor::<3>::from_data(
                TensorData::new(v.to_vec(), [k, points, 3]),
                device,
            ))
        };
        let dirs = Directions::PerPair(sw_loss::directions::uniform_batched(
            k,
            SW_METRIC_PROJECTIONS,
            3,
            device,
        ));
        let swpp: Vec<f32> =
            sw_pp_with_directions(&t(x), &t(y), &dirs, 2.0, BatchReduction::PerPair)?
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow!("{e:?}"))?;
        out.extend(swpp.iter().map(|v| (points as f64 * *v as f64).sqrt()));
    }
    Ok(out)
}

/// Latent codes `[n, latent]` and (with `decode`) reconstructions `[n, points, 3]` of clouds,
/// in batches of clouds of equal size (inference).
fn encode(
    model: &PointNetAutoencoder,
    clouds: &[Vec<f32>],
    device: &Device,
    decode: bool,
) -> (Vec<f32>, Vec<f32>) {
    let (mut codes, mut recons) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < clouds.len() {
        let p = clouds[start].len() / 3;
        // The encoder's widest activation is [chunk, P, 1024] f32; keep it within 128 MiB,
        // the smallest storage-buffer limit a wgpu device may have (lavapipe's, WebGPU's).
        let limit = ((128usize << 20) / (p.max(1) * 1024 * 4)).clamp(1, 64);
        let mut end = start + 1;
        while end < clouds.len() && end - start < limit && clouds[end].len() == p * 3 {
            end += 1;
        }
        let flat: Vec<f32> = clouds[start..end].iter().flatten().copied().collect();
        let x = Tensor::<3>::from_data(TensorData::new(flat, [end - start, p, 3]), device);
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
        start = end;
    }
    (codes, recons)
}

/// Which checkpoint `eval-ae` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Checkpoint {
    /// `checkpoints/best/`: the epoch with the lowest mean training loss (official model.pth).
    Best,
    /// The latest checkpoint (`checkpoints/LATEST`).
    Latest,
}

/// The run's config and the autoencoder of the chosen checkpoint, with the checkpoint's name.
fn load_trained(
    run_dir: &Path,
    which: Checkpoint,
    device: &Device,
) -> Result<(AutoencoderConfig, PointNetAutoencoder, String)> {
    let loaded = crate::config::load(&run_dir.join("config.toml"), &[])?;
    if loaded.experiment != "autoencoder" {
        bail!(
            "{}: not an autoencoder run (experiment = {})",
            run_dir.display(),
            loaded.experiment
        );
    }
    let cfg: AutoencoderConfig = loaded.parse()?;
    let (dir, name) = match which {
        Checkpoint::Best => {
            let dir = run_dir.join("checkpoints/best");
            if !dir.join("model.bpk").exists() {
                bail!(
                    "{}: no checkpoints/best/ (runs before the best-checkpoint change have none); use --checkpoint latest",
                    run_dir.display()
                );
            }
            let best = crate::checkpoint::verified(&dir)?;
            (
                dir,
                format!("best (lowest mean training loss, epoch {})", best.counter),
            )
        }
        Checkpoint::Latest => {
            let c = crate::checkpoint::resume_point(run_dir, None)?;
            (c.dir, format!("latest (epoch {})", c.counter))
        }
    };
    let file = dir.join("model.bpk");
    let fresh = cfg.model_config().init(device);
    let model = crate::record::load(&file, "the model", || fresh.try_load_file(&file))?;
    Ok((cfg, model, name))
}

/// `eval-ae` options.
pub struct EvalOptions {
    /// ModelNet40 root (default: the data folder).
    pub data: Option<PathBuf>,
    /// Only the first N test clouds.
    pub subset: Option<usize>,
    /// Synthetic clouds instead of ModelNet40.
    pub synthetic: bool,
    /// Which checkpoint.
    pub checkpoint: Checkpoint,
    /// Also the exact EMD (an assignment per cloud, ~1 s at 2048 points).
    pub exact_emd: bool,
}

/// A new folder `eval/<checkpoint>-<YYYYmmdd-HHMMSS>[-k]` of the run for one evaluation's
/// outputs: an earlier evaluation's files are never overwritten.
fn new_eval_dir(run_dir: &Path, which: Checkpoint) -> Result<PathBuf> {
    let parent = run_dir.join("eval");
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = match which {
        Checkpoint::Best => "best",
        Checkpoint::Latest => "latest",
    };
    let stamp = format!("{name}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    for k in 1.. {
        let dir = if k == 1 {
            parent.join(&stamp)
        } else {
            parent.join(format!("{stamp}-{k}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!("an unbounded search ends at a free name")
}

/// `experiments eval-ae`: the paper's reconstruction table and the latent linear SVM.
pub fn evaluate(run_dir: &Path, options: &EvalOptions, cli: &Cli) -> Result<()> {
    if options.subset == Some(0) {
        bail!("eval-ae --subset 0: evaluate at least one cloud");
    }
    let (_, device) = crate::device::resolve(cli.device.as_deref(), None)?;
    device.seed(cli.seed.unwrap_or(1));
    let (cfg, model, checkpoint) = load_trained(run_dir, options.checkpoint, &device)?;
    let points = cfg.data.points;
    let (train, test) = if options.synthetic {
        let data = AeData {
            file: None,
            synthetic_clouds: 2 * options.subset.unwrap_or(64),
            points,
            held_out: options.subset.unwrap_or(64),
            monitor_clouds: 1,
        };
        let (train, test, _) = training_set(&data, cfg.seed.wrapping_add(999))?;
        (train, test)
    } else {
        use datasets::modelnet::{ModelNet40, ModelNetSplit};
        let root = options
            .data
            .clone()
            .unwrap_or_else(datasets::download::data_dir);
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
    if let Some((i, c)) = test
        .iter()
        .enumerate()
        .find(|(_, c)| c.cloud.len() != points)
    {
        bail!(
            "test cloud {i} has {} points but the model decodes {points}: the paper's metrics compare clouds of equal size",
            c.cloud.len()
        );
    }
    let test: Vec<CloudItem> = test
        .into_iter()
        .take(options.subset.unwrap_or(usize::MAX))
        .collect();
    let clouds = EvalClouds::new(&test);
    let (test_codes, recons) = encode(&model, &clouds.inputs, &device, true);
    let train_inputs: Vec<Vec<f32>> = train.iter().map(|c| c.cloud.points.clone()).collect();
    let (train_codes, _) = encode(&model, &train_inputs, &device, false);
    let cd = clouds.chamfer(&recons, points);
    let sw = sw_metric_per_cloud(
        &recons,
        &test
            .iter()
            .flat_map(|c| c.cloud.points.clone())
            .collect::<Vec<_>>(),
        points,
        &device,
        SW_METRIC_CHUNK,
    )?;
    let per = points * 3;
    let (mut emd, mut exact) = (Vec::new(), Vec::new());
    let mut progress = Progress::new("EMD", test.len() as u64);
    let block = 4 * rayon::current_num_threads();
    for (b, chunk) in test.chunks(block).enumerate() {
        let values: Vec<(f64, Option<f64>)> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, c)| {
                let i = b * block + k;
                let r = &recons[i * per..(i + 1) * per];
                let approx = approx_match(r, &c.cloud.points)?.cost;
                let exact = if options.exact_emd {
                    let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
                    Some(sw_loss::exact_emd(&to64(r), &to64(&c.cloud.points), 3)?)
                } else {
                    None
                };
                Ok((approx, exact))
            })
            .collect::<Result<_>>()?;
        emd.extend(values.iter().map(|v| v.0));
        exact.extend(values.iter().filter_map(|v| v.1));
        progress.inc(chunk.len() as u64, String::new);
    }
    progress.finish();
    let latent = cfg.model.latent;
    let train_labels: Vec<u32> = train.iter().map(|c| c.label as u32).collect();
    let test_labels: Vec<u32> = test.iter().map(|c| c.label as u32).collect();
    let svm = LinearSvc::fit(&train_codes, latent, &train_labels, DEFAULT_C)
        .map_err(|e| anyhow!("latent SVM: {e}"))?;
    let accuracy = svm.accuracy(&test_codes, &test_labels);
    let ((cdm, cds), (swm, sws), (emm, ems)) = (mean_std(&cd), mean_std(&sw), mean_std(&emd));
    let mut table = format!(
        "\n{} test clouds, {points} points; model: {checkpoint} checkpoint\n\
         Chamfer (mean sq. NN, both ways)   {cdm:.5} ± {cds:.5}\n\
         SW √(N·SW₂²), L = 100 per cloud    {swm:.5} ± {sws:.5}\n\
         EMD approxmatch (paper's column)   {emm:.3} ± {ems:.3}\n",
        test.len()
    );
    let mut rows = vec![
        ("chamfer", (cdm, cds)),
        ("sw_sqrt_n_sw2sq_l100", (swm, sws)),
        ("emd_approxmatch", (emm, ems)),
    ];
    if options.exact_emd {
        let (m, s) = mean_std(&exact);
        table += &format!("EMD exact assignment (ours)        {m:.3} ± {s:.3}\n");
        rows.push(("emd_exact", (m, s)));
    }
    table += &format!(
        "latent linear SVM (LinearSVC defaults, C = 1) accuracy {:.2}% ({} train / {} test codes)\n",
        100.0 * accuracy,
        train.len(),
        test.len()
    );
    rows.push(("linear_svm_accuracy", (accuracy, 0.0)));
    println!("{table}");
    let out = new_eval_dir(run_dir, options.checkpoint)?;
    let mut w = csv::Writer::from_path(out.join("eval.csv"))?;
    w.write_record(["metric", "mean", "std", "checkpoint"])?;
    for (name, (m, s)) in rows {
        w.write_record([
            name.to_string(),
            format!("{m:.6}"),
            format!("{s:.6}"),
            checkpoint.clone(),
        ])?;
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
