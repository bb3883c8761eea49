//! Evaluation as the SA-DSW paper reports it (hsgser/Self-Amortized-DSW
//! reconstruction/reconstruction_test.py, classification/classification_train.py and
//! classification_test.py): per cloud, batch size 1, over the official set — every `.h5` in
//! the ModelNet40 folder, train and test together (dataset/modelnet40.py line 20 globs
//! `root/*.h5`; the download script leaves all seven files there beside its train/ and test/
//! copies): 12 308 clouds; the test split alone (2 468) is an extra column,
//!
//! ```text
//! Chamfer   mean_i min_j ‖x_i − y_j‖² + mean_j min_i ‖x_i − y_j‖²        (loss/chamfer.py)
//! SW        √(N · SW₂²) with L = 100 fresh uniform directions per cloud   (np.sqrt(SWD(100)))
//! EMD       approxmatch cost Σ_kl match_kl ‖x_k − y_l‖ (loss/emd.py)    — the paper's column
//! EMD exact min_σ Σ_k ‖x_k − y_σ(k)‖ (assignment)                        — ours, beside it
//! ```
//! each reported as mean and (sample) standard deviation over the clouds (`statistics.mean`,
//! `statistics.stdev`). Transfer learning: the official MLP classifier
//! (`models::evaluation::mlp_classifier`, classifier.py with class_train_config.json) trained
//! on the 256-d codes of the training files' clouds, accuracy on the test files' clouds; a
//! linear SVM (scikit-learn `LinearSVC()` defaults, linear_svm_classification.py, the
//! official alternative script) beside it as an extra. The model is
//! the `best/` checkpoint (lowest mean training loss, the official `model.pth`) unless
//! `--checkpoint latest`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::tensor::Device;
use datasets::PointCloud;
use datasets::shapenet::CloudItem;
use models::evaluation::{
    ClassifierTraining, DEFAULT_C, LinearSvc, MlpClassifierConfig, approx_match, train_classifier,
};
use models::pointnet::PointNetAutoencoder;
use rayon::prelude::*;

use super::config::{AeData, AutoencoderConfig};
use super::data::training_set;
use super::metrics::{EvalClouds, SW_METRIC_CHUNK, encode, mean_std, sw_metric_per_cloud};
use crate::cli::Cli;
use crate::plots;
use crate::progress::Progress;

pub use crate::cli::Checkpoint;

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
    let cfg = AutoencoderConfig::load(&loaded)?;
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
    /// Epochs of the MLP classifier (official: 500).
    pub classifier_epochs: usize,
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

/// The clouds `eval-ae` reads, in the official order, and which split each comes from.
struct EvalSet {
    clouds: Vec<CloudItem>,
    /// From a `ply_data_test*` file (synthetic: the held-out clouds).
    is_test: Vec<bool>,
    /// From a `ply_data_train*` file (synthetic: the training clouds).
    is_train: Vec<bool>,
}

/// The official reconstruction set: ModelNet40's every `.h5` in the folder (train and test,
/// `ModelNetSplit::All`), or for `--synthetic` the held-out then the training clouds.
fn eval_set(options: &EvalOptions, cfg: &AutoencoderConfig) -> Result<EvalSet> {
    if options.synthetic {
        let data = AeData {
            file: None,
            synthetic_clouds: 2 * options.subset.unwrap_or(64),
            points: cfg.data.points,
            held_out: options.subset.unwrap_or(64),
            monitor_clouds: 1,
        };
        let (train, test, _) = training_set(&data, cfg.header.seed.wrapping_add(999))?;
        let is_test: Vec<bool> = (0..test.len() + train.len())
            .map(|i| i < test.len())
            .collect();
        let is_train = is_test.iter().map(|t| !t).collect();
        let clouds = test.into_iter().chain(train).collect();
        return Ok(EvalSet {
            clouds,
            is_test,
            is_train,
        });
    }
    use datasets::modelnet::{ModelNet40, ModelNetSplit};
    let root = options
        .data
        .clone()
        .unwrap_or_else(datasets::download::data_dir);
    let ds = ModelNet40::load(&root, ModelNetSplit::All)?;
    let names = ds.file_of_each();
    let clouds = (0..ds.len())
        .map(|i| {
            ds.get(i).map_err(|e| anyhow!("{e}")).map(|c| CloudItem {
                // modelnet40.py __getitem__: pc_normalize.
                cloud: c.cloud.normalized(),
                label: c.label,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EvalSet {
        clouds,
        is_test: names
            .iter()
            .map(|n| n.starts_with("ply_data_test"))
            .collect(),
        is_train: names
            .iter()
            .map(|n| n.starts_with("ply_data_train"))
            .collect(),
    })
}

/// Per-cloud reconstruction metrics of the evaluated clouds.
struct PerCloud {
    chamfer: Vec<f64>,
    sw: Vec<f64>,
    emd: Vec<f64>,
    exact: Vec<f64>,
}

impl PerCloud {
    /// `(name, label, values)` of each metric computed.
    fn columns(&self) -> Vec<(&'static str, &'static str, &[f64])> {
        let mut out = vec![
            (
                "chamfer",
                "Chamfer (mean sq. NN, both ways)",
                &self.chamfer[..],
            ),
            (
                "sw_sqrt_n_sw2sq_l100",
                "SW √(N·SW₂²), L = 100 per cloud",
                &self.sw[..],
            ),
            (
                "emd_approxmatch",
                "EMD approxmatch (paper's column)",
                &self.emd[..],
            ),
        ];
        if !self.exact.is_empty() {
            out.push(("emd_exact", "EMD exact assignment (ours)", &self.exact[..]));
        }
        out
    }
}

/// Chamfer, the SW metric, the approxmatch EMD and (optionally) the exact EMD of each cloud.
fn reconstruction_metrics(
    clouds: &[CloudItem],
    recons: &[f32],
    points: usize,
    exact_emd: bool,
    device: &Device,
) -> Result<PerCloud> {
    let eval = EvalClouds::new(clouds);
    let chamfer = eval.chamfer(recons, points);
    let targets: Vec<f32> = clouds.iter().flat_map(|c| c.cloud.points.clone()).collect();
    let sw = sw_metric_per_cloud(recons, &targets, points, device, SW_METRIC_CHUNK)?;
    let per = points * 3;
    let (mut emd, mut exact) = (Vec::new(), Vec::new());
    let mut progress = Progress::new("EMD", clouds.len() as u64);
    let block = 4 * rayon::current_num_threads();
    for (b, chunk) in clouds.chunks(block).enumerate() {
        let values: Vec<(f64, Option<f64>)> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, c)| {
                let i = b * block + k;
                let r = &recons[i * per..(i + 1) * per];
                let approx = approx_match(r, &c.cloud.points)?.cost;
                let exact = if exact_emd {
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
    Ok(PerCloud {
        chamfer,
        sw,
        emd,
        exact,
    })
}

/// The codes and labels of the clouds where `keep` holds.
fn codes_of(
    codes: &[f32],
    latent: usize,
    labels: &[CloudItem],
    keep: &[bool],
) -> (Vec<f32>, Vec<u32>) {
    let (mut c, mut l) = (Vec::new(), Vec::new());
    for (i, item) in labels.iter().enumerate().filter(|(i, _)| keep[*i]) {
        c.extend_from_slice(&codes[i * latent..(i + 1) * latent]);
        l.push(item.label as u32);
    }
    (c, l)
}

/// `experiments eval-ae`: the paper's reconstruction table over the official set (every `.h5`
/// of the folder, train and test; the test split alone as an extra column), the official MLP
/// classifier on the latent codes (trained on the train files' codes, accuracy on the test
/// files'), and `LinearSVC()` beside it.
pub fn evaluate(run_dir: &Path, options: &EvalOptions, cli: &Cli) -> Result<()> {
    if options.subset == Some(0) {
        bail!("eval-ae --subset 0: evaluate at least one cloud");
    }
    if options.classifier_epochs == 0 {
        bail!("eval-ae --classifier-epochs 0: train the classifier for at least one epoch");
    }
    let (_, device) = crate::device::resolve(cli.device.as_deref(), None)?;
    device.seed(cli.seed.unwrap_or(1));
    let (cfg, model, checkpoint) = load_trained(run_dir, options.checkpoint, &device)?;
    let points = cfg.data.points;
    let set = eval_set(options, &cfg)?;
    if let Some((i, c)) = set
        .clouds
        .iter()
        .enumerate()
        .find(|(_, c)| c.cloud.len() != points)
    {
        bail!(
            "evaluation cloud {i} has {} points but the model decodes {points}: the paper's metrics compare clouds of equal size",
            c.cloud.len()
        );
    }
    if !set.is_train.iter().any(|t| *t) || !set.is_test.iter().any(|t| *t) {
        bail!(
            "the evaluation folder needs ply_data_train*.h5 and ply_data_test*.h5 files (the classifier trains on the first and is tested on the second)"
        );
    }
    // The reconstruction set: the official one, or its first N clouds (--subset).
    let n = set.clouds.len().min(options.subset.unwrap_or(usize::MAX));
    let evaluated = &set.clouds[..n];
    // Every cloud is encoded once: the first n also decoded (their codes are kept too).
    let inputs: Vec<Vec<f32>> = set.clouds.iter().map(|c| c.cloud.points.clone()).collect();
    let (mut codes, recons) = encode(&model, &inputs[..n], &device, true);
    codes.extend(encode(&model, &inputs[n..], &device, false).0);
    let metrics = reconstruction_metrics(evaluated, &recons, points, options.exact_emd, &device)?;
    let test_rows: Vec<usize> = (0..n).filter(|&i| set.is_test[i]).collect();
    // The classifiers: codes of every cloud, trained on the train files', tested on the test
    // files' (classification/preprocess.sh reads train/ and test/, the same files).
    let latent = cfg.model.latent;
    let (train_codes, train_labels) = codes_of(&codes, latent, &set.clouds, &set.is_train);
    let (test_codes, test_labels) = codes_of(&codes, latent, &set.clouds, &set.is_test);
    let mlp = mlp_accuracy(
        &train_codes,
        &train_labels,
        &test_codes,
        &test_labels,
        latent,
        options.classifier_epochs,
        &device,
    )?;
    let svm = LinearSvc::fit(&train_codes, latent, &train_labels, DEFAULT_C)
        .map_err(|e| anyhow!("latent SVM: {e}"))?;
    let svm_accuracy = svm.accuracy(&test_codes, &test_labels);
    let official = if n == set.clouds.len() {
        format!("official set: every .h5, train + test ({n} clouds)")
    } else {
        format!("first {n} clouds of the official set (--subset)")
    };
    let mut table = format!(
        "\n{points} points; model: {checkpoint} checkpoint\n{:<36} {:<28} test split only ({} clouds)\n",
        "",
        official,
        test_rows.len()
    );
    let mut rows = Vec::new();
    for (name, label, values) in metrics.columns() {
        let (m, s) = mean_std(values);
        let test: Vec<f64> = test_rows.iter().map(|&i| values[i]).collect();
        let (tm, ts) = mean_std(&test);
        table += &format!(
            "{label:<36} {:<28} {tm:.5} ± {ts:.5}\n",
            format!("{m:.5} ± {s:.5}")
        );
        rows.push((name, "official", m, s));
        rows.push((name, "test-split", tm, ts));
    }
    table += &format!(
        "MLP classifier (classifier.py, class_train_config.json; {} epochs, kept epoch {} of loss {:.4}) accuracy {:.2}% ({} train / {} test codes)\n\
         LinearSVC() (linear_svm_classification.py; extra) accuracy {:.2}%\n",
        options.classifier_epochs,
        mlp.1,
        mlp.2,
        100.0 * mlp.0,
        train_labels.len(),
        test_labels.len(),
        100.0 * svm_accuracy,
    );
    rows.push(("mlp_classifier_accuracy", "test-split", mlp.0, 0.0));
    rows.push(("linear_svm_accuracy", "test-split", svm_accuracy, 0.0));
    println!("{table}");
    let out = new_eval_dir(run_dir, options.checkpoint)?;
    write_csv(&out.join("eval.csv"), &rows, &checkpoint)?;
    write_pairs(&out, &evaluated[..n.min(4)], &recons, points)?;
    println!("outputs in {}", out.display());
    Ok(())
}

/// `eval.csv`: one row per (metric, set) with mean, std and the checkpoint.
fn write_csv(path: &Path, rows: &[(&str, &str, f64, f64)], checkpoint: &str) -> Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["metric", "set", "mean", "std", "checkpoint"])?;
    for (name, which, m, s) in rows {
        w.write_record([
            name.to_string(),
            which.to_string(),
            format!("{m:.6}"),
            format!("{s:.6}"),
            checkpoint.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// PNG views and the PLY reconstruction of each of `clouds` (the first ones evaluated).
fn write_pairs(out: &Path, clouds: &[CloudItem], recons: &[f32], points: usize) -> Result<()> {
    let per = points * 3;
    for (i, c) in clouds.iter().enumerate() {
        let (a, b) = (&c.cloud.points, &recons[i * per..(i + 1) * per]);
        plots::cloud_views(
            &out.join(format!("pair{i}.png")),
            &format!("evaluation cloud {i}"),
            &[("input", a), ("reconstruction", b)],
        )?;
        datasets::ply::write_cloud(
            out.join(format!("pair{i}_output.ply")),
            &PointCloud::new(b.to_vec()),
        )?;
    }
    Ok(())
}

/// The official MLP classifier trained on the train codes (class_train_config.json, with
/// `epochs`), its accuracy on the test codes; also the kept epoch and its loss.
fn mlp_accuracy(
    train_codes: &[f32],
    train_labels: &[u32],
    test_codes: &[f32],
    test_labels: &[u32],
    latent: usize,
    epochs: usize,
    device: &Device,
) -> Result<(f64, usize, f64)> {
    let config = MlpClassifierConfig::official().with_input(latent);
    let training = ClassifierTraining {
        epochs,
        ..ClassifierTraining::official()
    };
    let mut progress = Progress::new("MLP classifier epochs", epochs as u64);
    let trained = train_classifier(
        &config,
        &training,
        train_codes,
        train_labels,
        device,
        |_, loss| progress.inc(1, || format!("loss {loss:.4}")),
    )
    .map_err(|e| anyhow!("MLP classifier: {e}"))?;
    progress.finish();
    let accuracy = models::evaluation::mlp_classifier::accuracy(
        &trained.model,
        test_codes,
        test_labels,
        device,
    )
    .map_err(|e| anyhow!("MLP classifier: {e}"))?;
    Ok((accuracy, trained.best_epoch, trained.best_loss))
}
