//! The CV-SW gradient flow (Nguyen & Ho, ICLR 2024, §5.1): SGD on the points of a source
//! cloud with loss N·SW₂(source, target), for each estimator; exact W₂² at logged steps.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Tensor;
use datasets::PointCloud;
use serde::{Deserialize, Serialize};
use sw_loss::{BatchReduction, EstimatorKind, LossConfig, Measure, exact_w2sq};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::header::{Headed, Header};
use crate::pair::PairConfig;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// `configs/gradient_flow.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// The shared keys (`experiment` = `"gradient_flow"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// The two clouds.
    #[serde(default)]
    pub data: PairConfig,
    /// The flow itself.
    #[serde(default)]
    pub flow: FlowParams,
    /// The loss; `kind` is replaced by each entry of `flow.estimators`.
    #[serde(default)]
    pub loss: LossConfig,
    /// What to write besides metrics.
    #[serde(default)]
    pub output: FlowOutput,
}

impl Headed for FlowConfig {
    /// Seed of the device RNG (directions) and of synthetic data.
    const DEFAULT_SEED: u64 = 1;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

/// `[flow]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowParams {
    /// SGD steps.
    pub steps: usize,
    /// SGD step size.
    pub lr: f64,
    /// Multiply the loss by the number of points N (as the paper's code does).
    pub scale_by_points: bool,
    /// Estimators to run, one flow each.
    pub estimators: Vec<EstimatorKind>,
    /// Steps (1-based, before that step's update) at which exact W₂² is measured.
    pub log_steps: Vec<usize>,
    /// The exact W₂² solves a dense n × n assignment (8·n² bytes, O(n³) time): above this many
    /// points it is skipped, with a note in the log, and the flow runs without it.
    pub exact_w2_max_points: usize,
}

impl Default for FlowParams {
    fn default() -> Self {
        Self {
            steps: 8000,
            lr: 0.01,
            scale_by_points: true,
            estimators: vec![
                EstimatorKind::Sw,
                EstimatorKind::LcvSw,
                EstimatorKind::UcvSw,
            ],
            log_steps: vec![1, 3000, 4000, 5000, 6000, 8000],
            exact_w2_max_points: 10_000,
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowOutput {
    /// PNG renders (three orthographic views) of the cloud at each logged step.
    pub renders: bool,
    /// PLY files of the source, target and final clouds.
    pub ply: bool,
}

impl Default for FlowOutput {
    fn default() -> Self {
        Self {
            renders: true,
            ply: true,
        }
    }
}

impl FlowConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.flow.steps == 0 {
            bail!("[flow] steps must be at least 1");
        }
        if !(self.flow.lr.is_finite() && self.flow.lr > 0.0) {
            bail!(
                "[flow] lr must be a finite number > 0, got {}",
                self.flow.lr
            );
        }
        if self.flow.estimators.is_empty() {
            bail!(
                "[flow] estimators is empty; list at least one of sw, lcv-sw, ucv-sw, max-sw, v-dsw, ebsw, rpsw, gsw-poly3, gsw-circular"
            );
        }
        self.loss.validate().map_err(|e| anyhow!("[loss] {e}"))
    }
}

/// Four decimals, or scientific notation below 0.01 (the flow ends near 0).
fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "-".to_string()
    } else if v.abs() < 0.01 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

fn to_f64(c: &PointCloud) -> Vec<f64> {
    c.points.iter().map(|&v| v as f64).collect()
}

/// Runs the flow for every estimator and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: FlowConfig = loaded.parse()?;
    cfg.validate()
        .with_context(|| format!("{}", loaded.path.display()))?;
    let Opening {
        seed,
        device_name,
        device,
    } = Opening::resolve(cli, &cfg.header)?;
    let (source, target, what) = cfg
        .data
        .load(seed, loaded)
        .with_context(|| format!("{}", loaded.path.display()))?;
    if source.len() != target.len() {
        bail!(
            "{}: the exact W₂² metric needs clouds of equal size, got {} and {} points",
            loaded.path.display(),
            source.len(),
            target.len()
        );
    }
    let n = source.len();
    // Sizes that cannot fit are refused before the run folder is made.
    for &kind in &cfg.flow.estimators {
        LossConfig {
            kind,
            ..cfg.loss.clone()
        }
        .plan_memory(1, n, n, 3, burn::tensor::DType::F32)
        .map_err(|e| anyhow!("{}: [loss] {e}", loaded.path.display()))?;
    }
    let exact = n <= cfg.flow.exact_w2_max_points;
    let root = cli.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    let run = RunDir::create(&root, &loaded.name, &loaded.resolved())?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "gradient flow: {what}; device {device_name}; seed {seed}"
    ));
    if !exact {
        let note = format!(
            "note: exact W2^2 skipped: {n} points would need an {n} x {n} cost matrix ({}) and \
             O(n^3) time, over flow.exact_w2_max_points = {}; raise it to measure",
            sw_loss::memory::human_bytes(8 * (n as u64) * (n as u64)),
            cfg.flow.exact_w2_max_points
        );
        println!("{note}");
        run.log(&note);
    }
    if cfg.output.ply {
        datasets::ply::write_cloud(run.file("clouds/source.ply")?, &source)?;
        datasets::ply::write_cloud(run.file("clouds/target.ply")?, &target)?;
    }
    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record(["estimator", "step", "w2sq", "seconds"])?;
    let flow = Flow {
        cfg: &cfg,
        target_host: to_f64(&target),
        y: Measure::single(target.to_tensor(&device).autodiff()),
        target: &target,
        source: &source,
        device: &device,
        run: &run,
        seed,
        exact,
    };
    let mut series = Vec::new();
    let mut summary = Vec::new();
    for &kind in &cfg.flow.estimators {
        let (points, final_w2, seconds) = flow.estimator(kind, &mut metrics)?;
        summary.push((kind, points.clone(), final_w2, seconds));
        series.push(Series {
            label: kind.name().to_string(),
            points,
        });
    }
    if exact {
        plots::line_plot(
            &run.file("w2_vs_step.png")?,
            "Gradient flow: exact W2^2 to the target",
            "step",
            "W2^2",
            &series,
            false,
            true,
        )?;
    }
    let table = summary_table(&cfg.flow.log_steps, &summary);
    println!("{table}");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(run.path().join("log.txt"))?;
    writeln!(f, "{table}")?;
    println!("outputs in {}", run.path().display());
    Ok(())
}

/// (step, W₂²) at the logged steps.
type Curve = Vec<(f64, f64)>;

/// One estimator's row of the summary: W₂² at the logged steps, the final W₂², seconds.
type Row = (EstimatorKind, Curve, f64, f64);

/// The summary table printed and appended to `log.txt`.
fn summary_table(log_steps: &[usize], summary: &[Row]) -> String {
    let mut table = String::from("\nestimator  ");
    for s in log_steps {
        table += &format!("{:>12}", format!("step {s}"));
    }
    table += &format!("{:>12}{:>10}\n", "final", "seconds");
    for (kind, points, final_w2, secs) in summary {
        table += &format!("{:<11}", kind.name());
        for s in log_steps {
            match points.iter().find(|p| p.0 as usize == *s) {
                Some(p) => table += &format!("{:>12}", fmt_value(p.1)),
                None => table += &format!("{:>12}", "-"),
            }
        }
        table += &format!("{:>12}{secs:>10.1}\n", fmt_value(*final_w2));
    }
    table
}

/// What every estimator's flow shares.
struct Flow<'a> {
    cfg: &'a FlowConfig,
    source: &'a PointCloud,
    target: &'a PointCloud,
    target_host: Vec<f64>,
    /// The target as a measure on the autodiff device.
    y: Measure,
    device: &'a burn::tensor::Device,
    run: &'a RunDir,
    seed: u64,
    /// Whether the exact W₂² is measured (flow.exact_w2_max_points).
    exact: bool,
}

impl Flow<'_> {
    /// The flow of one estimator from the source (the device reseeded with the run's seed):
    /// W₂² at the logged steps, the final W₂² (NaN when not exact) and the seconds of flow.
    fn estimator(
        &self,
        kind: EstimatorKind,
        metrics: &mut csv::Writer<std::fs::File>,
    ) -> Result<(Curve, f64, f64)> {
        let cfg = self.cfg;
        self.device.seed(self.seed);
        let loss_cfg = LossConfig {
            kind,
            reduction: BatchReduction::Mean,
            ..cfg.loss.clone()
        };
        let mut x = self.source.to_tensor(self.device);
        let mut progress = Progress::new(kind.name(), cfg.flow.steps as u64);
        let mut seconds = 0.0;
        let mut points = Vec::new();
        for i in 0..cfg.flow.steps {
            let step = i + 1;
            if cfg.flow.log_steps.contains(&step) {
                let w2 = self.log_point(kind, step, &x, seconds, metrics, &progress)?;
                if self.exact {
                    points.push((step as f64, w2));
                }
            }
            let start = Instant::now();
            let (next, last_loss) = self.step(&loss_cfg, kind, x, step)?;
            x = next;
            seconds += start.elapsed().as_secs_f64();
            progress.inc(1, || format!("loss {last_loss:.4}"));
        }
        progress.finish();
        let last = PointCloud::from_tensor(x);
        if cfg.output.ply {
            datasets::ply::write_cloud(
                self.run
                    .file(&format!("clouds/final_{}.ply", kind.name()))?,
                &last,
            )?;
        }
        let final_w2 = if self.exact {
            exact_w2sq(&to_f64(&last), &self.target_host, 3)?
        } else {
            f64::NAN
        };
        self.run.log(&format!(
            "{kind}: final W2^2 = {final_w2:.6} after {} steps, {seconds:.2} s",
            cfg.flow.steps
        ));
        Ok((points, final_w2, seconds))
    }

    /// At a logged step: the exact W₂² (NaN when not exact) into metrics.csv and the log, and
    /// the render.
    fn log_point(
        &self,
        kind: EstimatorKind,
        step: usize,
        x: &Tensor<2>,
        seconds: f64,
        metrics: &mut csv::Writer<std::fs::File>,
        progress: &Progress,
    ) -> Result<f64> {
        let cloud = PointCloud::from_tensor(x.clone());
        let w2 = if self.exact {
            exact_w2sq(&to_f64(&cloud), &self.target_host, 3)?
        } else {
            f64::NAN
        };
        metrics.write_record([
            kind.name().to_string(),
            step.to_string(),
            if self.exact {
                format!("{w2:.9e}")
            } else {
                String::new()
            },
            format!("{seconds:.3}"),
        ])?;
        metrics.flush()?;
        if self.exact {
            let line = format!("{kind} step {step}: W2^2 = {w2:.6} ({seconds:.2} s of flow)");
            progress.println(&line);
            self.run.log(&line);
        }
        if self.cfg.output.renders {
            let path = self
                .run
                .file(&format!("renders/{}_step{step:05}.png", kind.name()))?;
            let title = if self.exact {
                format!("{kind}, step {step}, W2^2 = {w2:.4}")
            } else {
                format!("{kind}, step {step}")
            };
            plots::cloud_views(
                &path,
                &title,
                &[("current", &cloud.points), ("target", &self.target.points)],
            )?;
        }
        Ok(w2)
    }

    /// One explicit Euler step x ← x − lr ∇ loss(x) (loss × n with flow.scale_by_points), with
    /// one device read per step: [loss, all(isfinite(∇))]. Returns the new x and the loss.
    fn step(
        &self,
        loss_cfg: &LossConfig,
        kind: EstimatorKind,
        x: Tensor<2>,
        step: usize,
    ) -> Result<(Tensor<2>, f32)> {
        let xa = x.clone().autodiff().require_grad();
        let loss = loss_cfg
            .forward(&Measure::single(xa.clone()), &self.y)
            .with_context(|| format!("{kind} loss at step {step}"))?;
        let loss = if self.cfg.flow.scale_by_points {
            loss.mul_scalar(self.source.len() as f64)
        } else {
            loss
        };
        let grads = loss.backward();
        let g = xa
            .grad(&grads)
            .ok_or_else(|| anyhow!("no gradient reached the source points"))?;
        let read = Tensor::cat(
            vec![
                loss.inner().reshape([1]),
                g.clone().is_finite().all().float(),
            ],
            0,
        )
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("reading the loss: {e:?}"))?;
        let (what, at) = (format!("{kind} loss"), format!("step {step}"));
        crate::numerics::check_loss(read[0] as f64, &what, &at, crate::numerics::Kept::Nothing)?;
        if read[1] != 1.0 {
            return Err(crate::numerics::non_finite_gradient(
                &what,
                "the source points",
                &at,
                crate::numerics::Kept::Nothing,
            ));
        }
        Ok((x - g.mul_scalar(self.cfg.flow.lr), read[0]))
    }
}

/// The `gradient_flow` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "gradient_flow",
    check: |loaded| {
        let cfg: FlowConfig = loaded.parse()?;
        cfg.validate()
            .with_context(|| loaded.path.display().to_string())
    },
    run: |loaded, cli, _| run(loaded, cli),
    resumable: false,
};
