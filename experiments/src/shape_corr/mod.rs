//! Unsupervised shape correspondence (EOT-Correspondence, Le et al. CVPR 2024): DiffusionNet
//! features on WKS, regularised functional maps with SURFMNet and alignment losses, the SW
//! feature loss, and the test-time entropic refinement. Trains the `no-sw` and `sw`
//! variants, evaluates each with and without refinement, and writes one table
//! (`results.csv`, `results.md`), a PCK plot and coloured PLY pairs.

pub mod config;
mod data;
mod eval;
mod train;

use std::path::PathBuf;

use anyhow::{Result, bail};
use datasets::shape_corr::write_correspondence_pair;
use models::fmap::pck_curve;

use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::plots::{Series, line_plot};
use crate::run_dir::RunDir;
use config::ShapeCorrConfig;

/// One row of the table.
struct Row {
    variant: String,
    /// `latest` or `best`.
    weights: &'static str,
    /// The iteration the weights are from.
    iteration: usize,
    refined: bool,
    mean_error: f64,
    auc: f64,
    pck: Vec<f64>,
}

/// Refuses, before the run folder exists, an SW feature loss that cannot fit in
/// `sw_loss::DEFAULT_MEMORY_BUDGET` (1 GiB; this experiment has no `[loss]` table). The `sw`
/// variant's loss (training, and `adaptive` refinement) goes through `sw_pp_with_directions`,
/// which evaluates the L = `[train] sw_projections` directions in chunks within that budget;
/// only a size where not even one direction fits (V vertices of the largest shape, C =
/// `[model] out_channels`; `sw_loss::memory`'s estimate, f32) is refused. The dense V × V
/// plans (soft permutations, Sinkhorn) are the method itself, as in the official code, and
/// are not estimated here.
fn check_memory(cfg: &ShapeCorrConfig, prepared: &[data::Prepared], path: &str) -> Result<()> {
    let t = &cfg.train;
    if !(t.variants.iter().any(|v| v == "sw") && t.sw_weight > 0.0) {
        return Ok(());
    }
    let v = prepared
        .iter()
        .map(|p| p.shape.mesh.num_vertices())
        .max()
        .unwrap_or(0);
    let (l, c) = (t.sw_projections, cfg.model.out_channels);
    sw_loss::LossConfig {
        projections: l,
        ..Default::default()
    }
    .plan_memory(1, v, v, c, burn::tensor::DType::F32)
    .map_err(|e| {
        anyhow::anyhow!(
            "{path}: the SW feature loss on the {c}-channel features ([model] out_channels) of \
             {v}-vertex shapes: {e} (sw_loss::DEFAULT_MEMORY_BUDGET); lower [model] out_channels"
        )
    })?;
    Ok(())
}

/// Runs the experiment.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: ShapeCorrConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    cfg.validate(&path)?;
    let Opening {
        seed,
        device_name,
        device: base,
    } = Opening::resolve(cli, &cfg.header)?;
    let mut cfg = cfg;
    cfg.header.seed = seed;
    let device = base.clone().autodiff();
    // The shapes load (into the operator cache, never the run folder) before the run folder
    // is made: their sizes decide what fits.
    let (prepared, cache) = data::load(&cfg, &path)?;
    let truth_root = cfg
        .data
        .folder
        .clone()
        .unwrap_or_else(|| PathBuf::from("synthetic"));
    for p in &prepared[cfg.data.test[0]..cfg.data.test[1]] {
        data::check_truth(p, &truth_root)?;
    }
    check_memory(&cfg, &prepared, &path)?;
    let root = cli.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    let run = RunDir::create(&root, &loaded.name, &loaded.resolved())?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "shape correspondence: {} shapes ({} to {} vertices), operators cached in {}; device {device_name}",
        prepared.len(),
        prepared.iter().map(|p| p.shape.mesh.num_vertices()).min().unwrap_or(0),
        prepared.iter().map(|p| p.shape.mesh.num_vertices()).max().unwrap_or(0),
        cache.display()
    ));
    let k = cfg.model.num_evecs;
    let train_shapes = eval::base_shapes(&prepared, &device, k);
    let eval_shapes = eval::base_shapes(&prepared, &base, k);
    let pairs = eval::test_pairs(cfg.data.test, cfg.eval.max_pairs, cfg.eval.self_pairs);
    if pairs.is_empty() {
        bail!("[data] test range gives no test pairs: widen it, or set [eval] self_pairs = true");
    }
    let set = eval::TestSet {
        prepared: &prepared,
        train: &train_shapes,
        eval: &eval_shapes,
        pairs: &pairs,
    };
    let mut rows = Vec::new();
    for variant in &cfg.train.variants {
        let mut validate =
            |net: &models::diffusion_net::DiffusionNet| eval::validation_error(net, &set);
        let trained = train::train(&cfg, variant, &train_shapes, &device, &run, &mut validate)?;
        let mut candidates = vec![("latest", trained.iterations, &trained.latest)];
        if let Some((iteration, _, net)) = &trained.best {
            candidates.push(("best", *iteration, net));
        }
        for (weights, iteration, net) in candidates {
            rows.extend(evaluate_weights(
                &cfg, &run, &set, variant, weights, iteration, net, &device,
            )?);
        }
    }
    write_outputs(&cfg, &run, &rows, pairs.len())
}

/// Evaluates one set of weights of a variant without and with refinement: two rows, and for
/// the latest weights the first pair's coloured PLY files (`meshes/`).
#[allow(clippy::too_many_arguments)]
fn evaluate_weights(
    cfg: &ShapeCorrConfig,
    run: &RunDir,
    set: &eval::TestSet,
    variant: &str,
    weights: &'static str,
    iteration: usize,
    net: &models::diffusion_net::DiffusionNet,
    device: &burn::tensor::Device,
) -> Result<Vec<Row>> {
    let label = format!("{variant} {weights}");
    let write_meshes = |i: usize, j: usize, plain: &[usize], refined: &[usize]| -> Result<()> {
        if weights != "latest" {
            return Ok(());
        }
        for (tag, map) in [("", plain), ("_refined", refined)] {
            let (x, y) = (&set.prepared[i].shape, &set.prepared[j].shape);
            write_correspondence_pair(
                &run.file(&format!("meshes/{variant}{tag}_{}.ply", x.name))?,
                &run.file(&format!("meshes/{variant}{tag}_{}-{}.ply", x.name, y.name))?,
                &x.mesh,
                &y.mesh,
                map,
            )?;
        }
        Ok(())
    };
    let (plain, refined) =
        eval::evaluate(cfg, net, variant == "sw", set, device, &label, write_meshes)?;
    let mut rows = Vec::new();
    for (refined_flag, errs) in [(false, plain), (true, refined)] {
        let (_, pck, auc) = pck_curve(&errs, cfg.eval.pck_threshold, cfg.eval.pck_steps);
        let mean_error = errs.iter().sum::<f64>() / errs.len().max(1) as f64;
        let line = format!(
            "{variant} ({weights} weights, iteration {iteration}), refinement {}: mean geodesic error {mean_error:.4}, PCK AUC {auc:.4} over {} pairs",
            if refined_flag {
                cfg.refine.procedure.name()
            } else {
                "off"
            },
            set.pairs.len()
        );
        println!("{line}");
        run.log(&line);
        rows.push(Row {
            variant: variant.to_string(),
            weights,
            iteration,
            refined: refined_flag,
            mean_error,
            auc,
            pck,
        });
    }
    Ok(rows)
}

fn write_outputs(cfg: &ShapeCorrConfig, run: &RunDir, rows: &[Row], pairs: usize) -> Result<()> {
    let mut csv = csv::Writer::from_path(run.file("results.csv")?)?;
    csv.write_record([
        "variant",
        "weights",
        "refinement",
        "iteration",
        "mean_geodesic_error",
        "pck_auc",
        "pairs",
    ])?;
    let mut md = String::from(
        "| SW loss | weights (iteration) | refinement | mean geodesic error (÷√area) | PCK AUC |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        let refinement = if r.refined {
            cfg.refine.procedure.name()
        } else {
            "off"
        };
        csv.write_record([
            r.variant.clone(),
            r.weights.into(),
            refinement.into(),
            r.iteration.to_string(),
            format!("{:.6}", r.mean_error),
            format!("{:.6}", r.auc),
            pairs.to_string(),
        ])?;
        md.push_str(&format!(
            "| {} | {} ({}) | {refinement} | {:.4} | {:.4} |\n",
            if r.variant == "sw" { "with" } else { "without" },
            r.weights,
            r.iteration,
            r.mean_error,
            r.auc
        ));
    }
    csv.flush()?;
    std::fs::write(run.file("results.md")?, &md)?;
    println!("{md}");
    let steps = cfg.eval.pck_steps;
    let series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            label: format!(
                "{} {}{}",
                r.variant,
                r.weights,
                if r.refined { " + refinement" } else { "" }
            ),
            points: r
                .pck
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    (
                        cfg.eval.pck_threshold * i as f64 / (steps.max(2) - 1) as f64,
                        p,
                    )
                })
                .collect(),
        })
        .collect();
    line_plot(
        &run.file("pck.png")?,
        "PCK: fraction of matches within a geodesic error",
        "geodesic error (÷√area)",
        "fraction of correspondences",
        &series,
        false,
        false,
    )
}

/// The `shape_corr` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "shape_corr",
    check: |loaded| {
        let cfg: config::ShapeCorrConfig = loaded.parse()?;
        cfg.validate(&loaded.path.display().to_string())
    },
    run: |loaded, cli, _| run(loaded, cli),
    resumable: false,
};
