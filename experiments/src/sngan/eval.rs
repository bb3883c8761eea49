//! Scoring an SNGAN's EMA generator: FID and Inception Score as the CV-SW code computes them
//! (khainb/CV-SW Generative_model/functions.py `validate`): N images from z ~ N(0, I), quantised
//! to 8 bits by truncation, pool3 statistics against reference `mu`/`sigma`, IS from pool3 · W
//! (no bias) over 10 splits. Used by `experiments eval-gan` and by training's `[eval]`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use models::inception::metrics::StatsAccumulator;
use models::inception::{
    FeatureStats, FidInception, ScoreNetwork, StandIn, frechet_distance, inception_score,
    quantize_uint8,
};
use models::sngan::Generator;

use super::config::{GanEval, SnganConfig};
use crate::cli::Cli;
use crate::plots::{self, Series};
use crate::progress::Progress;

/// The Inception Score's number of splits (inception_score.py: `splits=10`).
pub const IS_SPLITS: usize = 10;

/// Host bytes one scoring may hold besides the networks (4 GiB): the Inception Score keeps
/// every image's class logits and their softmax in f64 until the end, and the FID accumulator
/// Σ xxᵀ with its batch product, 16·(classes·n + d²) bytes: 833 MiB for the official 50 000
/// images (classes 1008, d 2048); 262 144 images at most.
pub const SCORING_BUDGET: u64 = 4 << 30;

/// Header of `eval.csv`.
const EVAL_HEADER: [&str; 6] = ["step", "images", "fid", "is_mean", "is_std", "reference"];

/// A scoring network with its reference statistics.
pub struct Scorer {
    net: Box<dyn ScoreNetwork>,
    reference: FeatureStats,
    stats: PathBuf,
}

/// FID and IS of one scoring.
#[derive(Debug, Clone, Copy)]
pub struct Scores {
    /// Fréchet Inception Distance.
    pub fid: f64,
    /// Inception Score, mean over the splits.
    pub is_mean: f64,
    /// Inception Score, population std over the splits.
    pub is_std: f64,
}

impl Scorer {
    /// Loads the network (`inception`: weights file or `stand-in`) and the statistics, and
    /// checks that their dimensions agree.
    pub fn open(inception: &Path, stats: &Path, device: &Device) -> Result<Self> {
        let reference = FeatureStats::from_npz(stats)?;
        let net: Box<dyn ScoreNetwork> = if inception == Path::new("stand-in") {
            Box::new(StandIn::new(device))
        } else {
            Box::new(FidInception::load(device, inception)?)
        };
        if reference.mu.len() != net.feature_dim() {
            bail!(
                "{}: reference statistics of dimension {}, but the network's features have {}",
                stats.display(),
                reference.mu.len(),
                net.feature_dim()
            );
        }
        Ok(Self {
            net,
            reference,
            stats: stats.to_path_buf(),
        })
    }

    /// Refuses `n` images whose scoring cannot fit [`SCORING_BUDGET`] on the host; the error
    /// names `key`, where `n` comes from (`[eval] samples`, `--n`).
    pub fn check_images(&self, n: usize, key: &str) -> Result<()> {
        let (d, classes) = (self.net.feature_dim() as u64, self.net.classes() as u64);
        let need = 16u64.saturating_mul(classes.saturating_mul(n as u64).saturating_add(d * d));
        if need > SCORING_BUDGET {
            bail!(
                "{key} = {n}: scoring keeps {n} × {classes} class logits and their softmax in f64 \
                 for the Inception Score ({}), over the {} a scoring may hold \
                 (sngan::eval::SCORING_BUDGET); lower {key}",
                sw_loss::memory::human_bytes(need),
                sw_loss::memory::human_bytes(SCORING_BUDGET)
            );
        }
        Ok(())
    }

    /// Scores `n` (≥ 10) images of `g` drawn `batch` at a time from the device RNG as it is.
    pub fn score(
        &self,
        g: &Generator,
        latent: usize,
        n: usize,
        batch: usize,
        device: &Device,
    ) -> Result<Scores> {
        if n < IS_SPLITS {
            bail!("{n} images: the Inception Score's {IS_SPLITS} splits need at least {IS_SPLITS}");
        }
        let (d, classes) = (self.net.feature_dim(), self.net.classes());
        let mut acc = StatsAccumulator::new(d);
        let mut logits = Vec::with_capacity(n * classes);
        let mut progress = Progress::new("scored images", n as u64);
        while acc.count() < n {
            let b = batch.min(n - acc.count()).max(1);
            let z = Tensor::<2>::random([b, latent], Distribution::Normal(0.0, 1.0), device);
            let out = self.net.score_forward(quantize_uint8(g.forward(z)));
            acc.add(
                &out.pool3
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .map_err(|e| anyhow!("{e:?}"))?,
            );
            logits.extend(
                out.logits
                    .into_data()
                    .convert::<f64>()
                    .try_to_vec::<f64>()
                    .map_err(|e| anyhow!("{e:?}"))?,
            );
            progress.inc(b as u64, String::new);
        }
        progress.finish();
        let ours = acc.finish().expect("n ≥ 10");
        let (is_mean, is_std) = inception_score(&logits, classes, IS_SPLITS)?;
        Ok(Scores {
            fid: frechet_distance(&ours, &self.reference),
            is_mean,
            is_std,
        })
    }

    /// Appends a row for `step` to `run_dir/eval.csv` (never rewrites it).
    pub fn append_row(&self, run_dir: &Path, step: usize, n: usize, s: Scores) -> Result<()> {
        let mut w = crate::run_dir::append_csv(&run_dir.join("eval.csv"), &EVAL_HEADER)?;
        w.write_record([
            step.to_string(),
            n.to_string(),
            format!("{:.4}", s.fid),
            format!("{:.4}", s.is_mean),
            format!("{:.4}", s.is_std),
            self.stats.display().to_string(),
        ])?;
        w.flush()?;
        Ok(())
    }
}

/// The (step, FID) rows of `run_dir/eval.csv` (empty when there is none).
pub fn fid_history(run_dir: &Path) -> Result<Vec<(usize, f64)>> {
    let path = run_dir.join("eval.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_path(&path)?;
    reader
        .records()
        .map(|r| {
            let r = r?;
            let bad = || {
                anyhow!(
                    "{}: row {:?} is not step, images, fid, …",
                    path.display(),
                    r
                )
            };
            Ok((
                r.get(0).and_then(|v| v.parse().ok()).ok_or_else(bad)?,
                r.get(2).and_then(|v| v.parse().ok()).ok_or_else(bad)?,
            ))
        })
        .collect()
}

/// `fid.png`: FID against generator step from `eval.csv`.
pub fn fid_plot(run_dir: &Path) -> Result<()> {
    let points = fid_history(run_dir)?
        .into_iter()
        .map(|(s, f)| (s as f64, f))
        .collect();
    plots::line_plot(
        &run_dir.join("fid.png"),
        "FID of the EMA generator",
        "generator step",
        "FID",
        &[Series {
            label: "FID".into(),
            points,
        }],
        false,
        false,
    )
}

/// Writes the EMA generator as `run_dir/best/` (`ema_generator.bpk`, `fid`, and `state`'s
/// first line the step) through [`crate::checkpoint::save_in`]: checksummed, written to
/// `best.tmp/` and renamed, so a kill or a failed write never leaves half a `best/` and keeps
/// the previous one.
pub fn save_best(run_dir: &Path, ema: &Generator, step: usize, fid: f64) -> Result<()> {
    let role = crate::checkpoint::Role::Side;
    crate::checkpoint::save_in(run_dir, run_dir, "best", step, 0.0, role, |tmp| {
        ema.clone()
            .save_file(tmp.join("ema_generator.bpk"))
            .map_err(|e| anyhow!("saving the best EMA generator: {e:?}"))?;
        std::fs::write(tmp.join("fid"), format!("{fid}\n"))?;
        Ok(())
    })
}

/// Training's `[eval]`: the scorer plus the best FID so far.
pub struct PeriodicEval {
    cfg: GanEval,
    scorer: Scorer,
    best: f64,
}

impl PeriodicEval {
    /// Loads the network and statistics (before any training, so a bad path fails at once).
    pub fn open(cfg: &GanEval, device: &Device, path: &str) -> Result<Self> {
        let scorer = Scorer::open(&cfg.inception, &cfg.stats, device)
            .map_err(|e| anyhow!("{path}: [eval] {e}"))?;
        scorer
            .check_images(cfg.samples, "[eval] samples")
            .map_err(|e| anyhow!("{path}: {e}"))?;
        Ok(Self {
            cfg: cfg.clone(),
            scorer,
            best: f64::INFINITY,
        })
    }

    /// A resumed run: the best FID so far is the lowest in its `eval.csv`.
    pub fn continue_from(&mut self, run_dir: &Path) -> Result<()> {
        self.best = fid_history(run_dir)?
            .iter()
            .map(|r| r.1)
            .fold(f64::INFINITY, f64::min);
        Ok(())
    }

    /// Whether step `step` of `total` is scored.
    pub fn due(&self, step: usize, total: usize) -> bool {
        step.is_multiple_of(self.cfg.every) || step == total
    }

    /// Scores the EMA generator at `step` (noise from `device`, which the caller seeds), appends
    /// to `eval.csv`, redraws `fid.png` and replaces `best/` on a new lowest FID.
    pub fn run(
        &mut self,
        run_dir: &Path,
        ema: &Generator,
        latent: usize,
        step: usize,
        device: &Device,
    ) -> Result<Scores> {
        let s = self
            .scorer
            .score(ema, latent, self.cfg.samples, self.cfg.batch, device)?;
        self.scorer.append_row(run_dir, step, self.cfg.samples, s)?;
        fid_plot(run_dir)?;
        if s.fid < self.best {
            self.best = s.fid;
            save_best(run_dir, ema, step, s.fid)?;
        }
        Ok(s)
    }
}

/// Loads the EMA generator of a run's latest checkpoint on `device` (plain, not autodiff).
///
/// Returns the config, the generator and the generator step of the checkpoint it came from.
pub fn load_ema_generator(
    run_dir: &Path,
    device: &Device,
) -> Result<(SnganConfig, Generator, usize)> {
    let loaded = crate::config::load(&run_dir.join("config.toml"), &[])?;
    if loaded.experiment != "sngan" {
        bail!(
            "{}: not an SNGAN run (experiment = `{}`)",
            run_dir.display(),
            loaded.experiment
        );
    }
    let cfg: SnganConfig = loaded.parse()?;
    let latest = crate::checkpoint::resume_point(run_dir, None)?;
    let ckpt = latest.dir;
    let file = ckpt.join("ema_generator.bpk");
    let fresh = cfg.generator.init(device);
    let g = crate::record::load(&file, "the EMA generator", || fresh.try_load_file(&file))?;
    Ok((cfg, g, latest.counter))
}

/// `experiments sample --run RUN_DIR --n N --out DIR`: N PNGs from the EMA generator, 8-bit
/// levels by truncation like the CV-SW code's `validate`.
pub fn sample(run_dir: &Path, n: usize, out: &Path, batch: usize, cli: &Cli) -> Result<()> {
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{}: exists and is not empty; give a new folder (nothing is overwritten)",
            out.display()
        );
    }
    let (_, device) = crate::device::resolve(cli.device.as_deref(), None)?;
    let (cfg, g, _) = load_ema_generator(run_dir, &device)?;
    let seed = cli.seed.unwrap_or(cfg.header.seed);
    device.seed(seed);
    std::fs::create_dir_all(out)?;
    let mut progress = Progress::new("images", n as u64);
    let mut written = 0;
    while written < n {
        let b = batch.min(n - written).max(1);
        let z = Tensor::<2>::random(
            [b, cfg.generator.latent],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        datasets::image::save_images(out, quantize_uint8(g.forward(z)), written)?;
        written += b;
        progress.inc(b as u64, String::new);
    }
    progress.finish();
    println!("{n} images in {}", out.display());
    Ok(())
}

/// `experiments eval-gan`: FID against reference statistics and IS (10 splits) of `n` images of
/// the EMA generator of the run's latest checkpoint. Appends a line to `RUN_DIR/eval.csv` (never
/// rewrites it) and prints the result.
pub fn evaluate(
    run_dir: &Path,
    inception: &Path,
    stats: &Path,
    n: usize,
    batch: usize,
    cli: &Cli,
) -> Result<()> {
    if n < IS_SPLITS || batch == 0 {
        bail!(
            "--n must be at least {IS_SPLITS} (the Inception Score's splits), got {n}; --batch must be positive"
        );
    }
    let (_, device) = crate::device::resolve(cli.device.as_deref(), None)?;
    let (cfg, g, step) = load_ema_generator(run_dir, &device)?;
    let scorer = Scorer::open(inception, stats, &device)?;
    scorer.check_images(n, "--n")?;
    let seed = cli.seed.unwrap_or(cfg.header.seed);
    device.seed(seed);
    let start = Instant::now();
    let s = scorer.score(&g, cfg.generator.latent, n, batch, &device)?;
    println!(
        "step {step}: FID {:.3}, IS {:.3} ± {:.3} ({n} images, {:.0} s)",
        s.fid,
        s.is_mean,
        s.is_std,
        start.elapsed().as_secs_f64()
    );
    scorer.append_row(run_dir, step, n, s)
}
