//! The CV-SW variance study: for L in a list, direction samplers in a list (i.i.d. uniform,
//! orthogonal blocks, randomized QMC — `sw_loss::directions`) and R repetitions, estimates of
//! SW₂² by plain Monte Carlo, LCV-SW and UCV-SW from the same directions, against a
//! high-accuracy reference (Fibonacci-lattice quadrature on S², d = 3). `[study] variants` adds
//! SW variants with sampled directions (EBSW, GSW), each against its own reference.
//!
//! Outputs: `metrics.csv` (one row per pair × sampler × estimator × L: mean, mean absolute
//! error, variance, and the variance ratio against uniform plain SW at the same L),
//! `variance_vs_L_<pair>.png` and `error_vs_L_<pair>.png` (log–log; SW, LCV-SW, UCV-SW), the
//! same as `…_<pair>_variants.png` for the variants, and in the log the winner at every L.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sw_loss::control_variates::{ControlVariate, control_variate_terms};
use sw_loss::directions::{DirectionKind, fibonacci_sphere, sample_as};
use sw_loss::kernel::cv_combine;
use sw_loss::{BatchReduction, Directions, Measure, sw_pp_with_directions};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::header::{Headed, Header};
use crate::pair::PairConfig;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// `configs/variance.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarianceConfig {
    /// The shared keys (`experiment` = `"variance"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// The point-cloud pair.
    #[serde(default)]
    pub data: PairConfig,
    /// The study.
    #[serde(default)]
    pub study: StudyParams,
}

impl Headed for VarianceConfig {
    /// Seed of the device RNG.
    const DEFAULT_SEED: u64 = 1;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

/// `[study]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudyParams {
    /// Numbers of projections L.
    pub projections: Vec<usize>,
    /// Repetitions R per L.
    pub repetitions: usize,
    /// Directions of the Fibonacci-lattice reference.
    pub reference_directions: usize,
    /// Also study a pair of Gaussian clouds N(0, I) and N(m, diag(s²)).
    pub gaussian_pair: bool,
    /// Points per Gaussian cloud.
    pub gaussian_points: usize,
    /// Direction samplers to compare: `"uniform"`, `"orthogonal"`, `"rqmc"`, `"halton"`.
    pub directions: Vec<DirectionKind>,
    /// SW variants studied beside SW / LCV-SW / UCV-SW with the same samplers: kinds of the
    /// checked loss whose directions are sampled, `"ebsw"`, `"gsw-poly3"`, `"gsw-circular"`
    /// (each estimates its own quantity; its reference is its own value on
    /// `reference_directions` directions: the Fibonacci lattice in d = 3, uniform directions
    /// in gsw-poly3's 10 lifted dimensions). Default none.
    pub variants: Vec<sw_loss::EstimatorKind>,
    /// Bytes one evaluation may hold (`sw_loss::memory`'s estimate; every evaluation of the
    /// study holds all its directions at once). A study whose largest evaluation is over it
    /// is refused before the run folder is made. Default 1 GiB, as `[loss] memory_budget`.
    pub memory_budget: u64,
}

impl Default for StudyParams {
    fn default() -> Self {
        Self {
            projections: vec![2, 5, 10, 20, 50, 100, 200, 500],
            repetitions: 200,
            reference_directions: 100_000,
            gaussian_pair: true,
            gaussian_points: 1024,
            directions: vec![
                DirectionKind::Uniform,
                DirectionKind::Orthogonal,
                DirectionKind::Rqmc,
            ],
            memory_budget: sw_loss::DEFAULT_MEMORY_BUDGET,
            variants: Vec::new(),
        }
    }
}

fn cloud(points: &[f32], device: &Device) -> Measure {
    Measure::single(Tensor::from_data(
        TensorData::new(points.to_vec(), [points.len() / 3, 3]),
        device,
    ))
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

/// Directions of the reference evaluated together (at most).
const REFERENCE_CHUNK: usize = 10_000;

/// SW₂² by the Fibonacci lattice of `count` directions (chunks of [`REFERENCE_CHUNK`]).
fn reference(x: &Measure, y: &Measure, count: usize, device: &Device) -> Result<f64> {
    let lattice = fibonacci_sphere(count, device);
    let chunks = count.div_ceil(REFERENCE_CHUNK);
    let mut total = 0.0;
    for chunk in lattice.chunk(chunks, 0) {
        let l = chunk.dims()[0] as f64;
        total += l * scalar(sw_pp_with_directions(
            x,
            y,
            &Directions::Shared(chunk),
            2.0,
            BatchReduction::Mean,
        )?);
    }
    Ok(total / count as f64)
}

struct Row {
    pair: String,
    directions: DirectionKind,
    estimator: &'static str,
    l: usize,
    mean: f64,
    mae: f64,
    variance: f64,
    ratio: f64,
}

/// R estimates each of SW₂², LCV-SW₂² and UCV-SW₂² (same directions for the three).
fn estimates(
    x: &Measure,
    y: &Measure,
    kind: DirectionKind,
    l: usize,
    repetitions: usize,
    device: &Device,
    mut tick: impl FnMut(),
) -> [Vec<f64>; 3] {
    let mut est: [Vec<f64>; 3] = Default::default();
    for _ in 0..repetitions {
        let theta = sample_as(kind, l, 3, device, x.points().dtype());
        let dirs = Directions::Shared(theta);
        let (w, c_low, e_low) = control_variate_terms(x, y, &dirs, 2.0, ControlVariate::Lower);
        let (_, c_up, e_up) = control_variate_terms(x, y, &dirs, 2.0, ControlVariate::Upper);
        est[0].push(scalar(w.clone().mean_dim(1).squeeze_dim(1)));
        est[1].push(scalar(cv_combine(w.clone(), c_low, e_low, true)));
        est[2].push(scalar(cv_combine(w, c_up, e_up, true)));
        tick();
    }
    est
}

/// Refuses, before the run folder exists, a study whose largest evaluation cannot fit in
/// `[study] memory_budget`. Nothing is chunked by the budget: each evaluation holds all its
/// directions at once, for a pair of n and m points (`sw_loss::memory`, f32, d = 3):
///
/// ```text
/// estimates   L · c₁ + 12·L                    L = the largest [study] projections
/// reference   L_r · c₁ + 12·L_r + 12·R         R = reference_directions (the whole lattice
///                                              stays), L_r = min(R, REFERENCE_CHUNK)
///             c₁ = (n + m) · 20 bytes per direction
/// ```
/// `pairs` are (name, n, m, the key that sets their points).
fn check_memory(s: &StudyParams, pairs: &[(&str, usize, usize, &str)], path: &str) -> Result<()> {
    let whole = |l: usize, n: usize, m: usize| {
        let sizes = sw_loss::memory::Sizes {
            batch: 1,
            n,
            m,
            d: 3,
            projections: l,
            per_pair_directions: false,
            dtype: burn::tensor::DType::F32,
        };
        // The unchunked evaluation: L·c₁ + D.
        sw_loss::memory::unchunked_bytes(&sizes)
    };
    let largest = s.projections.iter().copied().max().unwrap_or(1);
    let chunk = s.reference_directions.min(REFERENCE_CHUNK);
    let lattice = 12 * s.reference_directions as u64;
    for &(name, n, m, points_key) in pairs {
        for (key, l, extra) in [
            ("[study] projections", largest, 0),
            ("[study] reference_directions", chunk, lattice),
        ] {
            let need = whole(l, n, m).saturating_add(extra);
            if need > s.memory_budget {
                bail!(
                    "{path}: [study] memory_budget: the {name} pair ({n} and {m} points, {points_key}) \
                     evaluated at L = {l} directions at once ({key}) needs about {}, over the \
                     budget of {}; lower {key} or {points_key}, or raise [study] memory_budget",
                    sw_loss::memory::human_bytes(need),
                    sw_loss::memory::human_bytes(s.memory_budget)
                );
            }
        }
    }
    Ok(())
}

/// Runs the study and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: VarianceConfig = loaded.parse()?;
    let s = &cfg.study;
    s.validate(&loaded.path.display().to_string())?;
    let Opening {
        seed,
        device_name,
        device,
    } = Opening::resolve(cli, &cfg.header)?;
    device.seed(seed);
    let (source, target, what) = cfg
        .data
        .load(seed, loaded)
        .with_context(|| format!("{}", loaded.path.display()))?;
    let sizes = sizes_of(&cfg, source.len(), target.len());
    check_memory(s, &sizes, &loaded.path.display().to_string())?;
    let root = cli.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    let run = RunDir::create(&root, &loaded.name, &loaded.resolved())?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "variance study: {what}; device {device_name}; seed {seed}"
    ));

    let pairs = pairs_of(&cfg, &source.points, &target.points, &device);
    let total = (pairs.len()
        * s.projections.len()
        * s.directions.len()
        * s.repetitions
        * (1 + s.variants.len())) as u64;
    let mut progress = Progress::new("variance", total);
    let mut rows = Vec::new();
    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record([
        "pair",
        "directions",
        "estimator",
        "L",
        "reference",
        "mean",
        "mean_abs_error",
        "variance",
        "variance_ratio",
    ])?;
    for (name, x, y) in &pairs {
        let reference = reference(x, y, s.reference_directions, &device)?;
        let line = format!(
            "{name}: reference SW2^2 = {reference:.6} ({} Fibonacci directions)",
            s.reference_directions
        );
        progress.println(&line);
        run.log(&line);
        for &l in &s.projections {
            let mut baseline = None;
            for &kind in &s.directions {
                let est = estimates(x, y, kind, l, s.repetitions, &device, || {
                    progress.inc(1, || format!("{name} L={l} {}", kind.name()))
                });
                let stats = |v: &[f64]| {
                    let mean = v.iter().sum::<f64>() / v.len() as f64;
                    let var =
                        v.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
                    let mae = v.iter().map(|e| (e - reference).abs()).sum::<f64>() / v.len() as f64;
                    (mean, mae, var)
                };
                // The ratio's baseline: uniform plain SW at this L (the first sampler's plain
                // SW when uniform is not studied).
                let base = *baseline.get_or_insert(stats(&est[0]).2);
                for (k, estimator) in ESTIMATORS.into_iter().enumerate() {
                    let (mean, mae, variance) = stats(&est[k]);
                    let ratio = base / variance.max(f64::MIN_POSITIVE);
                    metrics.write_record([
                        name.clone(),
                        kind.name().to_string(),
                        estimator.to_string(),
                        l.to_string(),
                        format!("{reference:.9e}"),
                        format!("{mean:.9e}"),
                        format!("{mae:.9e}"),
                        format!("{variance:.9e}"),
                        format!("{ratio:.6}"),
                    ])?;
                    rows.push(Row {
                        pair: name.clone(),
                        directions: kind,
                        estimator,
                        l,
                        mean,
                        mae,
                        variance,
                        ratio,
                    });
                }
                metrics.flush()?;
            }
        }
        for &kind in &s.variants {
            rows.extend(variant_rows(
                s,
                kind,
                (name, x, y),
                &device,
                &mut metrics,
                &mut progress,
            )?);
        }
    }
    progress.finish();

    let names: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
    report(&run, s, &names, &rows)?;
    let table = table(&rows);
    println!("{table}");
    run.log(&table);
    println!("outputs in {}", run.path().display());
    Ok(())
}

impl StudyParams {
    /// Checks what serde cannot (the error names the file and the key).
    pub fn validate(&self, path: &str) -> Result<()> {
        let s = self;
        if s.projections.is_empty() || s.projections.contains(&0) {
            bail!(
                "{}: [study] projections must be a non-empty list of positive integers",
                path
            );
        }
        if s.repetitions < 2 {
            bail!(
                "{}: [study] repetitions must be at least 2 (a variance needs two samples)",
                path
            );
        }
        if s.directions.is_empty() {
            bail!(
                "{}: [study] directions must list at least one sampler (\"uniform\", \"orthogonal\", \"rqmc\", \"halton\")",
                path
            );
        }
        for kind in &s.variants {
            if !VARIANTS.contains(kind) {
                bail!(
                    "{path}: [study] variants: `{kind}` is not studied here; the variants with \
                     sampled directions are {}",
                    VARIANTS.map(|k| k.name()).join(", ")
                );
            }
        }
        if s.reference_directions < 1000 {
            bail!(
                "{}: [study] reference_directions must be at least 1000",
                path
            );
        }
        Ok(())
    }
}

/// The pairs the study measures, as `check_memory` sizes them: (name, n, m, the key of n).
fn sizes_of(
    cfg: &VarianceConfig,
    n: usize,
    m: usize,
) -> Vec<(&'static str, usize, usize, &'static str)> {
    let s = &cfg.study;
    let mut sizes = vec![if cfg.data.file.is_some() {
        ("shapes", n, m, "the clouds of [data] file")
    } else {
        ("synthetic", n, m, "[data] points")
    }];
    if s.gaussian_pair {
        let n = s.gaussian_points.max(2);
        sizes.push(("gaussian", n, n, "[study] gaussian_points"));
    }
    sizes
}

/// The pairs of the study: the `[data]` pair (shapes or synthetic), then the Gaussian pair
/// when `[study] gaussian_pair` (drawn from the device RNG, after the data).
fn pairs_of(
    cfg: &VarianceConfig,
    source: &[f32],
    target: &[f32],
    device: &Device,
) -> Vec<(String, Measure, Measure)> {
    let s = &cfg.study;
    let name = if cfg.data.file.is_some() {
        "shapes"
    } else {
        "synthetic"
    };
    let mut pairs = vec![(
        name.to_string(),
        cloud(source, device),
        cloud(target, device),
    )];
    if s.gaussian_pair {
        let (x, y) = gaussian_pair(s.gaussian_points.max(2), device);
        pairs.push(("gaussian".to_string(), x, y));
    }
    pairs
}

/// The estimators of the study, in the order `estimates` returns them.
const ESTIMATORS: [&str; 3] = ["sw", "lcv-sw", "ucv-sw"];

/// The variants `[study] variants` accepts: kinds whose directions come from a sampler.
const VARIANTS: [sw_loss::EstimatorKind; 3] = [
    sw_loss::EstimatorKind::Ebsw,
    sw_loss::EstimatorKind::GswPoly3,
    sw_loss::EstimatorKind::GswCircular,
];

/// One variant of `[study] variants` on one pair: its reference (its own value on
/// `reference_directions` directions, chunked by the checked loss within `memory_budget`),
/// then R estimates per L and sampler; rows written to `metrics` and returned. The variance
/// ratio is against the variant's own uniform estimate at the same L.
fn variant_rows(
    s: &StudyParams,
    kind: sw_loss::EstimatorKind,
    (name, x, y): (&String, &Measure, &Measure),
    device: &Device,
    metrics: &mut csv::Writer<std::fs::File>,
    progress: &mut Progress,
) -> Result<Vec<Row>> {
    let config = sw_loss::LossConfig {
        kind,
        power: true,
        memory_budget: s.memory_budget,
        ..sw_loss::LossConfig::default()
    };
    let dim = config.sliced_dimension(3);
    let dtype = x.points().dtype();
    let value = |dirs: Tensor<2>| -> Result<f64> {
        Ok(scalar(config.forward_with_directions(
            x,
            y,
            &Directions::Shared(dirs),
        )?))
    };
    let lattice = if dim == 3 {
        fibonacci_sphere(s.reference_directions, device)
    } else {
        sample_as(
            DirectionKind::Uniform,
            s.reference_directions,
            dim,
            device,
            dtype,
        )
    };
    let reference = value(lattice)?;
    progress.println(&format!("{name}: reference {kind} = {reference:.6}"));
    let mut rows = Vec::new();
    for &l in &s.projections {
        let mut baseline = None;
        for &sampler in &s.directions {
            let mut est = Vec::with_capacity(s.repetitions);
            for _ in 0..s.repetitions {
                est.push(value(sample_as(sampler, l, dim, device, dtype))?);
                progress.inc(1, || format!("{name} L={l} {} {kind}", sampler.name()));
            }
            let mean = est.iter().sum::<f64>() / est.len() as f64;
            let variance =
                est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (est.len() - 1) as f64;
            let mae = est.iter().map(|e| (e - reference).abs()).sum::<f64>() / est.len() as f64;
            let ratio = *baseline.get_or_insert(variance) / variance.max(f64::MIN_POSITIVE);
            metrics.write_record([
                name.clone(),
                sampler.name().to_string(),
                kind.name().to_string(),
                l.to_string(),
                format!("{reference:.9e}"),
                format!("{mean:.9e}"),
                format!("{mae:.9e}"),
                format!("{variance:.9e}"),
                format!("{ratio:.6}"),
            ])?;
            rows.push(Row {
                pair: name.clone(),
                directions: sampler,
                estimator: kind.name(),
                l,
                mean,
                mae,
                variance,
                ratio,
            });
        }
        metrics.flush()?;
    }
    Ok(rows)
}

/// The study's Gaussian pair: n points of N(0, I) against n of N((1, 2, −1), diag(1.5, 0.5,
/// 1)²), drawn from the device RNG.
fn gaussian_pair(n: usize, device: &Device) -> (Measure, Measure) {
    let x = Tensor::<2>::random([n, 3], Distribution::Normal(0.0, 1.0), device);
    let scale = Tensor::<2>::from_data(TensorData::new(vec![1.5f32, 0.5, 1.0], [1, 3]), device);
    let shift = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, -1.0], [1, 3]), device);
    let y = Tensor::<2>::random([n, 3], Distribution::Normal(0.0, 1.0), device) * scale + shift;
    (Measure::single(x), Measure::single(y))
}

/// Per pair: the variance and error plots over L, and the lowest-variance sampler/estimator
/// at each L (printed and logged).
fn report(run: &RunDir, s: &StudyParams, names: &[&str], rows: &[Row]) -> Result<()> {
    for &name in names {
        // One figure for SW / LCV-SW / UCV-SW (they estimate SW₂²), one for the variants
        // (each estimates its own quantity), so no colour repeats within a figure.
        let variants: Vec<&'static str> = s.variants.iter().map(|k| k.name()).collect();
        let series = |estimators: &[&'static str], value: fn(&Row) -> f64| -> Vec<Series> {
            s.directions
                .iter()
                .flat_map(|&kind| estimators.iter().map(move |&e| (kind, e)))
                .map(|(kind, e)| Series {
                    label: format!("{} / {e}", kind.name()),
                    points: rows
                        .iter()
                        .filter(|r| r.pair == name && r.estimator == e && r.directions == kind)
                        .map(|r| (r.l as f64, value(r)))
                        .collect(),
                })
                .collect()
        };
        let mut figures = vec![("", "SW2^2 estimates", ESTIMATORS.to_vec())];
        if !variants.is_empty() {
            figures.push(("_variants", "variant estimates", variants));
        }
        for (suffix, what, estimators) in figures {
            plots::line_plot(
                &run.file(&format!("variance_vs_L_{name}{suffix}.png"))?,
                &format!("{name}: variance of {what} (directions / estimator)"),
                "L (projections)",
                "variance",
                &series(&estimators, |r| r.variance),
                true,
                true,
            )
            .map_err(|e| anyhow!("plotting: {e}"))?;
            plots::line_plot(
                &run.file(&format!("error_vs_L_{name}{suffix}.png"))?,
                &format!("{name}: mean absolute error of {what}"),
                "L (projections)",
                "mean |estimate - reference|",
                &series(&estimators, |r| r.mae),
                true,
                true,
            )
            .map_err(|e| anyhow!("plotting: {e}"))?;
        }
        for &l in &s.projections {
            // The winner among the SW₂² estimators (the variants estimate other quantities).
            let mut at_l: Vec<&Row> = rows
                .iter()
                .filter(|r| r.pair == name && r.l == l && ESTIMATORS.contains(&r.estimator))
                .collect();
            at_l.sort_by(|a, b| a.variance.total_cmp(&b.variance));
            if let [best, second, ..] = at_l[..] {
                let line = format!(
                    "{name} L={l}: lowest variance {} / {} ({:.3e}), {:.1}x below uniform / sw, {:.2}x below the runner-up {} / {}",
                    best.directions.name(),
                    best.estimator,
                    best.variance,
                    best.ratio,
                    second.variance / best.variance.max(f64::MIN_POSITIVE),
                    second.directions.name(),
                    second.estimator
                );
                println!("{line}");
                run.log(&line);
            }
        }
    }
    Ok(())
}

/// The table of every row, printed and logged at the end.
fn table(rows: &[Row]) -> String {
    let mut table = format!(
        "\n{:<10}{:<12}{:<8}{:>6}{:>14}{:>14}{:>14}{:>10}\n",
        "pair", "directions", "est.", "L", "mean", "MAE", "variance", "ratio"
    );
    for r in rows {
        table += &format!(
            "{:<10}{:<12}{:<8}{:>6}{:>14.5}{:>14.4e}{:>14.4e}{:>10.1}\n",
            r.pair,
            r.directions.name(),
            r.estimator,
            r.l,
            r.mean,
            r.mae,
            r.variance,
            r.ratio
        );
    }
    table
}

/// The `variance` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "variance",
    check: |loaded| {
        let cfg: VarianceConfig = loaded.parse()?;
        cfg.study.validate(&loaded.path.display().to_string())
    },
    run: |loaded, cli, _| run(loaded, cli),
    resumable: false,
};
