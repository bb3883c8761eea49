//! DDOT-style surface fitting: a neural-ODE velocity field deforms a template icosphere into a
//! target surface, trained with SW between meshes as measures (vertices, surface samples or
//! varifolds) or with Chamfer as the baseline; one run per loss, compared in one table.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use datasets::Mesh;
use datasets::synthetic_mesh::{bumpy_sphere, ellipsoid, icosphere};
use models::mesh_ode::metrics::{count_self_intersections, normal_consistency, point_metrics};
use models::mesh_ode::{OdeMethod, VelocityFieldConfig, chamfer_loss, integrate};
use serde::{Deserialize, Serialize};
use sw_loss::mesh::{surface_measure, varifold_measure, vertex_measure};
use sw_loss::{Directions, LossConfig, Measure, Reduction, sw_with_directions};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// `configs/mesh_deform.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshDeformConfig {
    /// Always `"mesh_deform"`.
    pub experiment: String,
    /// One line for `experiments list`.
    #[serde(default)]
    pub description: String,
    /// Seed of the device RNG (initialisation, samples, directions).
    #[serde(default = "one")]
    pub seed: u64,
    /// Backend name (overridden by `--device`).
    #[serde(default)]
    pub device: Option<String>,
    /// Template and target.
    #[serde(default)]
    pub shapes: ShapesConfig,
    /// The fit.
    #[serde(default)]
    pub fit: FitConfig,
    /// The velocity field.
    #[serde(default)]
    pub field: VelocityFieldConfig,
    /// The SW estimator of the SW losses (`kind`, `projections`, `p`, ...).
    #[serde(default)]
    pub loss: LossConfig,
}

fn one() -> u64 {
    1
}

/// `[shapes]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesConfig {
    /// Icosphere subdivisions of the template (3 → 642 vertices).
    pub template_subdivisions: usize,
    /// Synthetic target: `ellipsoid`, `bumpy-sphere` or `folded-sphere`.
    pub target: String,
    /// Subdivisions of the synthetic target.
    pub target_subdivisions: usize,
    /// A target mesh file (.obj, .off, .ply) instead of a synthetic one.
    pub target_file: Option<PathBuf>,
}

impl Default for ShapesConfig {
    fn default() -> Self {
        Self {
            template_subdivisions: 3,
            target: "ellipsoid".into(),
            target_subdivisions: 4,
            target_file: None,
        }
    }
}

/// `[fit]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitConfig {
    /// Losses to compare: `chamfer`, `sw-vertices`, `sw-surface`, `sw-varifold`.
    pub losses: Vec<String>,
    /// Adam steps.
    pub steps: usize,
    /// Adam step size.
    pub lr: f64,
    /// ODE steps over t ∈ [0, 1].
    pub ode_steps: usize,
    /// `rk4` or `euler`.
    pub method: OdeMethod,
    /// Surface samples K per step (sw-surface) and of the target (chamfer, sw-vertices, sw-surface).
    pub samples: usize,
    /// Weight λ of the normal part of varifolds.
    pub normal_weight: f64,
    /// Metrics and meshes every this many steps (and at the last).
    pub log_every: usize,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            losses: vec![
                "chamfer".into(),
                "sw-vertices".into(),
                "sw-surface".into(),
                "sw-varifold".into(),
            ],
            steps: 400,
            lr: 2e-3,
            ode_steps: 4,
            method: OdeMethod::Rk4,
            samples: 4096,
            normal_weight: 0.1,
            log_every: 100,
        }
    }
}

const LOSSES: [&str; 4] = ["chamfer", "sw-vertices", "sw-surface", "sw-varifold"];

/// The target surface named in the config.
pub fn target_mesh(s: &ShapesConfig, seed: u64) -> Result<Mesh> {
    if let Some(path) = &s.target_file {
        return Ok(datasets::mesh_io::read_mesh(path)?);
    }
    let k = s.target_subdivisions;
    Ok(match s.target.as_str() {
        "ellipsoid" => ellipsoid(k, 1.0, 0.7, 0.45),
        "bumpy-sphere" => bumpy_sphere(k, 0.15, seed),
        "folded-sphere" => bumpy_sphere(k, 0.35, seed.wrapping_add(17)),
        other => bail!(
            "[shapes] target `{other}` is not one of ellipsoid, bumpy-sphere, folded-sphere (or set target_file)"
        ),
    })
}

fn mesh_from(vertices: Tensor<2>, faces: &[u32]) -> Result<Mesh> {
    let v: Vec<f32> = vertices
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("{e:?}"))?;
    Ok(Mesh::new(v, faces.to_vec())?)
}

/// One row of metrics.
#[derive(Debug, Clone)]
pub struct Row {
    /// Loss name.
    pub loss: String,
    /// Step.
    pub step: usize,
    /// Chamfer between 5 000 surface samples of each mesh.
    pub chamfer: f64,
    /// Hausdorff distance (same samples).
    pub hausdorff: f64,
    /// ASSD (same samples).
    pub assd: f64,
    /// Normal consistency.
    pub normal_consistency: f64,
    /// Self-intersecting face pairs of the deformed mesh.
    pub self_intersections: usize,
    /// SW₂ between the surface samples, L = 100.
    pub sw: f64,
    /// Seconds of training so far.
    pub seconds: f64,
}

impl Row {
    /// The CSV columns after `loss` (and `step` in metrics.csv).
    const COLUMNS: [&'static str; 7] = [
        "chamfer",
        "hausdorff",
        "assd",
        "normal_consistency",
        "self_intersections",
        "sw",
        "seconds",
    ];

    /// The CSV cells of [`Self::COLUMNS`].
    fn cells(&self) -> [String; 7] {
        [
            format!("{:.6e}", self.chamfer),
            format!("{:.6e}", self.hausdorff),
            format!("{:.6e}", self.assd),
            format!("{:.6}", self.normal_consistency),
            self.self_intersections.to_string(),
            format!("{:.6e}", self.sw),
            format!("{:.3}", self.seconds),
        ]
    }
}

fn evaluate(
    loss: &str,
    step: usize,
    mesh: &Mesh,
    target: &Mesh,
    target_samples: &datasets::PointCloud,
    device: &Device,
    seconds: f64,
) -> Result<Row> {
    let samples = mesh.sample_surface(5000, 7);
    let m = point_metrics(&samples.points, &target_samples.points);
    let dirs = Directions::Shared(sw_loss::directions::fibonacci_sphere(100, device));
    let sw = sw_with_directions(
        &Measure::single(samples.to_tensor(device)),
        &Measure::single(target_samples.to_tensor(device)),
        &dirs,
        2.0,
        Reduction::Mean,
    )?
    .into_scalar::<f32>() as f64;
    Ok(Row {
        loss: loss.into(),
        step,
        chamfer: m.chamfer,
        hausdorff: m.hausdorff,
        assd: m.assd,
        normal_consistency: normal_consistency(mesh, target),
        self_intersections: count_self_intersections(mesh),
        sw,
        seconds,
    })
}

/// Runs every configured loss and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: MeshDeformConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    if let Some(bad) = cfg
        .fit
        .losses
        .iter()
        .find(|l| !LOSSES.contains(&l.as_str()))
    {
        bail!(
            "{path}: [fit] losses: `{bad}` is not one of {}",
            LOSSES.join(", ")
        );
    }
    if cfg.fit.steps == 0 || cfg.fit.log_every == 0 || cfg.fit.samples == 0 || !(cfg.fit.lr > 0.0) {
        bail!("{path}: [fit] steps, log_every and samples must be positive and lr > 0");
    }
    cfg.loss
        .validate()
        .map_err(|e| anyhow!("{path}: [loss] {e}"))?;
    let seed = cli.seed.unwrap_or(cfg.seed);
    let (device_name, base) = crate::device::resolve(cli.device.as_deref(), cfg.device.as_deref())?;
    let device = base.clone().autodiff();
    let template = icosphere(cfg.shapes.template_subdivisions);
    let target = target_mesh(&cfg.shapes, seed).with_context(|| path.clone())?;
    let root = cli.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    let run = RunDir::create(&root, &loaded.name, &loaded.resolved())?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "mesh deform: template icosphere({}) with {} vertices → target with {} vertices / {} faces; device {device_name}",
        cfg.shapes.template_subdivisions,
        template.num_vertices(),
        target.num_vertices(),
        target.num_faces()
    ));
    datasets::mesh_io::write_obj(run.file("meshes/target.obj")?, &target)?;
    datasets::mesh_io::write_obj(run.file("meshes/template.obj")?, &template)?;

    let eval_target = target.sample_surface(5000, 11);
    let target_samples = target
        .sample_surface(cfg.fit.samples, seed)
        .to_tensor(&device);
    let target_vertices = target.vertices_tensor(&device);
    let target_faces = target.faces_tensor(&device);
    let target_varifold = varifold_measure(&target_vertices, &target_faces, cfg.fit.normal_weight)?;
    let template_vertices = template.vertices_tensor(&device);
    let template_faces = template.faces_tensor(&device);
    let sw_cfg = LossConfig {
        power: true,
        reduction: Reduction::Mean,
        ..cfg.loss.clone()
    };

    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record(["loss", "step"].iter().chain(&Row::COLUMNS))?;
    let mut finals = Vec::new();
    let mut series = Vec::new();
    for loss_name in &cfg.fit.losses {
        device.seed(seed);
        let mut field = cfg.field.init(&device);
        let mut optim = AdamConfig::new().init();
        let mut progress = Progress::new(loss_name, cfg.fit.steps as u64);
        let mut seconds = 0.0;
        let mut curve = Vec::new();
        let mut last_row = None;
        for step in 0..=cfg.fit.steps {
            let start = Instant::now();
            let deformed = integrate(
                template_vertices.clone(),
                cfg.fit.ode_steps,
                cfg.fit.method,
                |x, t| field.forward(x, t, None),
            );
            if step % cfg.fit.log_every == 0 || step == cfg.fit.steps {
                let mesh = mesh_from(deformed.clone().inner(), &template.faces)?;
                let row = evaluate(
                    loss_name,
                    step,
                    &mesh,
                    &target,
                    &eval_target,
                    &base,
                    seconds,
                )?;
                metrics.write_record(
                    [row.loss.clone(), step.to_string()]
                        .into_iter()
                        .chain(row.cells()),
                )?;
                metrics.flush()?;
                let line = format!(
                    "{loss_name} step {step}: chamfer {:.5}, hausdorff {:.4}, nc {:.4}, self-intersections {}",
                    row.chamfer, row.hausdorff, row.normal_consistency, row.self_intersections
                );
                progress.println(&line);
                run.log(&line);
                curve.push((step.max(1) as f64, row.chamfer));
                datasets::mesh_io::write_obj(
                    run.file(&format!("meshes/{loss_name}_step{step:05}.obj"))?,
                    &mesh,
                )?;
                plots::cloud_views(
                    &run.file(&format!("renders/{loss_name}_step{step:05}.png"))?,
                    &format!("{loss_name}, step {step}, chamfer {:.4}", row.chamfer),
                    &[
                        ("deformed vertices", &mesh.vertices),
                        ("target samples", &eval_target.points[..3000]),
                    ],
                )?;
                plots::mesh_views(
                    &run.file(&format!("renders/{loss_name}_step{step:05}_mesh.png"))?,
                    &format!("{loss_name}, step {step}, chamfer {:.4}", row.chamfer),
                    &[("deformed template", &mesh), ("target", &target)],
                )?;
                last_row = Some(row);
            }
            if step == cfg.fit.steps {
                break;
            }
            let loss = match loss_name.as_str() {
                "chamfer" => chamfer_loss(deformed, target_samples.clone()),
                "sw-vertices" => sw_cfg.forward(
                    &vertex_measure(deformed),
                    &Measure::single(target_samples.clone()),
                )?,
                "sw-surface" => {
                    let samples = surface_measure(&deformed, &template_faces, cfg.fit.samples)?;
                    sw_cfg.forward(&samples, &Measure::single(target_samples.clone()))?
                }
                _ => sw_cfg.forward(
                    &varifold_measure(&deformed, &template_faces, cfg.fit.normal_weight)?,
                    &target_varifold,
                )?,
            };
            let grads = GradientsParams::from_grads(loss.backward(), &field);
            field = optim.step(cfg.fit.lr, field, grads);
            seconds += start.elapsed().as_secs_f64();
            progress.inc(1, || String::new());
        }
        progress.finish();
        series.push(Series {
            label: loss_name.clone(),
            points: curve,
        });
        finals.push(last_row.expect("the last step is always logged"));
    }
    plots::line_plot(
        &run.file("chamfer_vs_step.png")?,
        "Surface fit: Chamfer to the target",
        "step",
        "Chamfer",
        &series,
        false,
        true,
    )?;
    let mut table = csv::Writer::from_path(run.file("comparison.csv")?)?;
    table.write_record(["loss"].iter().chain(&Row::COLUMNS))?;
    let mut text = format!(
        "\n{:<13}{:>12}{:>11}{:>11}{:>8}{:>7}{:>11}{:>9}\n",
        "loss", "chamfer", "hausdorff", "assd", "nc", "s.i.", "sw", "seconds"
    );
    for r in &finals {
        table.write_record(std::iter::once(r.loss.clone()).chain(r.cells()))?;
        text += &format!(
            "{:<13}{:>12.3e}{:>11.4}{:>11.4}{:>8.4}{:>7}{:>11.4}{:>9.1}\n",
            r.loss,
            r.chamfer,
            r.hausdorff,
            r.assd,
            r.normal_consistency,
            r.self_intersections,
            r.sw,
            r.seconds
        );
    }
    table.flush()?;
    println!("{text}");
    run.log(&text);
    println!("outputs in {}", run.path().display());
    Ok(())
}
