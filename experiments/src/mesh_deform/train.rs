//! DDOT-style surface fitting: a neural-ODE velocity field deforms a template icosphere into a
//! target surface, trained with SW between meshes as measures (vertices, surface samples or
//! varifolds) or with Chamfer as the baseline (CortexODE's loss); one run per loss, every
//! sample-based loss resampling both meshes each step ([`super::losses`]), compared in one table of
//! CortexODE's metrics (Chamfer, ASSD, HD90, SIF %, flipped faces, normal consistency, seconds).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use models::mesh_ode::metrics::MeshMetrics;
use models::mesh_ode::{OdeMethod, integrate};
use sw_loss::mesh::varifold_measure;
use sw_loss::{BatchReduction, LossConfig};

use super::config::{MeshDeformConfig, target, validate};
use super::eval::mesh_from;
use super::targets::Target;
use super::{eval, losses};
use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// Runs every configured loss and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: MeshDeformConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    validate(&cfg, &path)?;
    let fit = &cfg.fit;
    let Opening {
        seed,
        device_name,
        device: base,
    } = Opening::resolve(cli, &cfg.header)?;
    let device = base.clone().autodiff();
    let target = target(&cfg.shapes, seed).with_context(|| path.clone())?;
    let template = super::config::template(&cfg.shapes, &target)?;
    for loss_name in &fit.losses {
        let samples = (fit.samples, "[fit] samples");
        let faces = target.unit.num_faces();
        losses::check_memory(loss_name, 1, samples, &template, faces, &cfg.loss)
            .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    }
    let root = cli.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    let run = RunDir::create(&root, &loaded.name, &loaded.resolved())?;
    println!("run folder: {}", run.path().display());
    run.log(&describe(&cfg, &template, &target, &device_name));
    datasets::mesh_io::write_obj(run.file("meshes/target.obj")?, &target.original)?;
    datasets::mesh_io::write_obj(run.file("meshes/template.obj")?, &template)?;

    let target_varifold = varifold_measure(
        &target.unit.vertices_tensor(&device),
        &target.unit.faces_tensor(&device),
        fit.normal_weight,
    )?;
    let template_vertices = template.vertices_tensor(&device);
    let template_faces = template.faces_tensor(&device);
    let sw_cfg = LossConfig {
        power: true,
        reduction: BatchReduction::Mean,
        ..cfg.loss.clone()
    };
    let logger = StepLogger {
        run: &run,
        target: &target,
        template: &template,
        eval_target: target.unit.sample_surface(3000, 11),
        eval_points: fit.eval_points,
    };

    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record(["loss", "step"].iter().chain(&eval::COLUMNS))?;
    let mut finals: Vec<(String, MeshMetrics, f64)> = Vec::new();
    let mut series = Vec::new();
    for loss_name in &fit.losses {
        device.seed(seed);
        let mut field = cfg.field.init(&device);
        let mut optim = losses::adam(fit.adam_epsilon).init();
        let mut progress = Progress::new(loss_name, fit.steps as u64);
        let mut seconds = 0.0;
        let mut curve = Vec::new();
        let mut last = None;
        for step in 0..=fit.steps {
            let start = Instant::now();
            let deformed = integrate(
                template_vertices.clone(),
                fit.ode_steps,
                fit.method,
                |x, t| field.forward(x, t, None),
            );
            if step % fit.log_every == 0 || step == fit.steps {
                let m = logger.log(loss_name, step, &deformed, seconds, &mut metrics, &progress)?;
                curve.push((step.max(1) as f64, m.assd));
                last = Some(m);
            }
            if step == fit.steps {
                break;
            }
            let step_seed = seed.wrapping_mul(1_000_003).wrapping_add(step as u64);
            let loss = losses::training_loss(
                loss_name,
                &deformed,
                &template_faces,
                &target.unit,
                Some(&target_varifold),
                fit.samples,
                step_seed,
                &sw_cfg,
                fit.normal_weight,
            )?
            .mul_scalar(losses::loss_weight(loss_name, fit.chamfer_scale));
            let (what, at) = (format!("loss `{loss_name}`"), format!("step {step}"));
            let kept = crate::numerics::Kept::Nothing;
            let (_, grads) = crate::numerics::checked_backward(loss, &field, &what, &at, kept)?;
            field = optim.step(fit.lr, field, grads);
            seconds += start.elapsed().as_secs_f64();
            progress.inc(1, String::new);
        }
        progress.finish();
        series.push(Series {
            label: loss_name.clone(),
            points: curve,
        });
        finals.push((
            loss_name.clone(),
            last.expect("the last step is always logged"),
            seconds,
        ));
    }
    finish(&run, &series, &finals)?;
    println!("outputs in {}", run.path().display());
    Ok(())
}

/// The run's opening log line.
fn describe(
    cfg: &MeshDeformConfig,
    template: &datasets::Mesh,
    target: &Target,
    device_name: &str,
) -> String {
    let fit = &cfg.fit;
    format!(
        "mesh deform: template {} with {} vertices → target with {} vertices / {} faces; {} × {} ODE steps; device {device_name}; metrics in the target's units (scale {:.6} per unit)",
        match cfg.shapes.init.as_str() {
            "sphere" => format!("icosphere({})", cfg.shapes.template_subdivisions),
            _ => format!("smoothed target ({} steps)", cfg.shapes.init_smoothing),
        },
        template.num_vertices(),
        target.unit.num_vertices(),
        target.unit.num_faces(),
        fit.ode_steps,
        method_name(fit.method),
        target.frame.scale,
    )
}

/// What the logged steps write: metrics.csv rows, the log, OBJ meshes and renders.
struct StepLogger<'a> {
    run: &'a RunDir,
    target: &'a Target,
    template: &'a datasets::Mesh,
    /// 3 000 target surface samples for the renders.
    eval_target: datasets::PointCloud,
    eval_points: usize,
}

impl StepLogger<'_> {
    /// Scores the deformed template (a diverged one is refused before any metric or file sees
    /// it), then writes the row, the log line, the mesh and its renders.
    fn log(
        &self,
        loss_name: &str,
        step: usize,
        deformed: &burn::tensor::Tensor<2>,
        seconds: f64,
        metrics: &mut csv::Writer<std::fs::File>,
        progress: &Progress,
    ) -> Result<MeshMetrics> {
        let (run, target) = (self.run, self.target);
        let mesh = mesh_from(deformed.clone().inner(), &self.template.faces)?;
        let m = target
            .score(self.template, &mesh, self.eval_points, 7)
            .with_context(|| format!("loss `{loss_name}`, step {step}: lower [fit] lr"))?;
        metrics.write_record(
            [loss_name.to_string(), step.to_string()]
                .into_iter()
                .chain(eval::cells(&m, seconds)),
        )?;
        metrics.flush()?;
        let line = format!(
            "{loss_name} step {step}: chamfer {:.3e}, assd {:.4}, hd90 {:.4}, sif {:.2} %, flipped {}, nc {:.4}",
            m.chamfer, m.assd, m.hd90, m.sif_percent, m.flipped, m.normal_consistency
        );
        progress.println(&line);
        run.log(&line);
        let file_mesh = target.frame.inverse(&mesh);
        datasets::mesh_io::write_obj(
            run.file(&format!("meshes/{loss_name}_step{step:05}.obj"))?,
            &file_mesh,
        )?;
        plots::cloud_views(
            &run.file(&format!("renders/{loss_name}_step{step:05}.png"))?,
            &format!("{loss_name}, step {step}, ASSD {:.4}", m.assd),
            &[
                ("deformed vertices", &mesh.vertices),
                ("target samples", &self.eval_target.points),
            ],
        )?;
        plots::mesh_views(
            &run.file(&format!("renders/{loss_name}_step{step:05}_mesh.png"))?,
            &format!("{loss_name}, step {step}, ASSD {:.4}", m.assd),
            &[("deformed template", &mesh), ("target", &target.unit)],
        )?;
        Ok(m)
    }
}

/// The ASSD plot and the comparison table (CSV, printed, logged).
fn finish(run: &RunDir, series: &[Series], finals: &[(String, MeshMetrics, f64)]) -> Result<()> {
    plots::line_plot(
        &run.file("assd_vs_step.png")?,
        "Surface fit: ASSD to the target",
        "step",
        "ASSD",
        series,
        false,
        true,
    )?;
    eval::write_comparison(&run.file("comparison.csv")?, finals)?;
    let text = eval::table_text(finals);
    println!("{text}");
    run.log(&text);
    Ok(())
}

fn method_name(m: OdeMethod) -> &'static str {
    match m {
        OdeMethod::Euler => "euler",
        OdeMethod::Rk4 => "rk4",
    }
}
