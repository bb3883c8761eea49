//! DDOT's dataset mode: one conditioned network (PointNet code of the target cloud → velocity
//! field v(x, t, z)) deforms the template icosphere towards many targets; trained on a training
//! split with the configured loss, evaluated by Chamfer on held-out targets it never saw.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use datasets::Mesh;
use datasets::synthetic_mesh::{bumpy_sphere, ellipsoid, icosphere};
use models::mesh_ode::metrics::point_metrics;
use models::mesh_ode::{ConditionedDeformerConfig, OdeMethod, chamfer_loss};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sw_loss::mesh::{surface_measure, varifold_measure, vertex_measure};
use sw_loss::{LossConfig, Measure, Reduction};

use crate::cli::Cli;
use crate::config::Loaded;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// `configs/mesh_deform_dataset.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshDatasetConfig {
    /// Always `"mesh_deform_dataset"`.
    pub experiment: String,
    /// One line for `experiments list`.
    #[serde(default)]
    pub description: String,
    /// Seed of the targets, the initialisation, the batches and the SW directions.
    #[serde(default = "one")]
    pub seed: u64,
    /// Backend name (overridden by `--device`).
    #[serde(default)]
    pub device: Option<String>,
    /// Template and targets.
    #[serde(default)]
    pub shapes: DatasetShapes,
    /// Encoder and field.
    #[serde(default)]
    pub model: ConditionedDeformerConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: DatasetTrain,
    /// The SW estimator of the SW losses.
    #[serde(default)]
    pub loss: LossConfig,
}

fn one() -> u64 {
    1
}

/// `[shapes]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetShapes {
    /// Icosphere subdivisions of the template.
    pub template_subdivisions: usize,
    /// Number of synthetic targets (random ellipsoids and bumpy spheres, alternating).
    pub targets: usize,
    /// Subdivisions of the synthetic targets.
    pub target_subdivisions: usize,
    /// A folder of target meshes (.obj, .off, .ply; sorted by name) instead of synthetic ones.
    /// They should be genus 0 and roughly centred in the unit ball, like the template.
    pub target_dir: Option<PathBuf>,
    /// The last `test` targets are held out.
    pub test: usize,
    /// Surface samples of each target: the encoder's input and the losses' target measure.
    pub points: usize,
}

impl Default for DatasetShapes {
    fn default() -> Self {
        Self {
            template_subdivisions: 3,
            targets: 48,
            target_subdivisions: 3,
            target_dir: None,
            test: 8,
            points: 1024,
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetTrain {
    /// `chamfer`, `sw-vertices`, `sw-surface` or `sw-varifold`.
    pub loss: String,
    /// Adam steps.
    pub steps: usize,
    /// Targets per step.
    pub batch: usize,
    /// Adam step size.
    pub lr: f64,
    /// ODE steps over t ∈ [0, 1].
    pub ode_steps: usize,
    /// `rk4` or `euler`.
    pub method: OdeMethod,
    /// Weight of the normal part of varifolds.
    pub normal_weight: f64,
    /// Evaluate every this many steps (and at the first and last).
    pub log_every: usize,
}

impl Default for DatasetTrain {
    fn default() -> Self {
        Self {
            loss: "sw-surface".into(),
            steps: 600,
            batch: 8,
            lr: 1e-3,
            ode_steps: 4,
            method: OdeMethod::Rk4,
            normal_weight: 0.1,
            log_every: 100,
        }
    }
}

const LOSSES: [&str; 4] = ["chamfer", "sw-vertices", "sw-surface", "sw-varifold"];

/// One target: its mesh and `points` surface samples.
struct Target {
    mesh: Mesh,
    cloud: Vec<f32>,
    eval: Vec<f32>,
}

fn targets(s: &DatasetShapes, seed: u64) -> Result<Vec<Mesh>> {
    if let Some(dir) = &s.target_dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("[shapes] target_dir {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| {
                    ["obj", "off", "ply"].contains(&x.to_ascii_lowercase().to_str().unwrap_or(""))
                })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            bail!(
                "[shapes] target_dir {}: no .obj, .off or .ply files",
                dir.display()
            );
        }
        return files
            .iter()
            .map(|f| Ok(datasets::mesh_io::read_mesh(f)?))
            .collect();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x7461_7267);
    Ok((0..s.targets)
        .map(|i| {
            let k = s.target_subdivisions;
            if i % 2 == 0 {
                ellipsoid(
                    k,
                    rng.random_range(0.55..1.1),
                    rng.random_range(0.55..1.1),
                    rng.random_range(0.55..1.1),
                )
            } else {
                bumpy_sphere(k, rng.random_range(0.05..0.25), rng.random())
            }
        })
        .collect())
}

fn cloud_tensor(clouds: &[&[f32]], device: &Device) -> Tensor<3> {
    let n = clouds[0].len() / 3;
    let values: Vec<f32> = clouds.iter().flat_map(|c| c.iter().copied()).collect();
    Tensor::from_data(TensorData::new(values, [clouds.len(), n, 3]), device)
}

fn to_vec(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("{e:?}"))
}

/// Trains the conditioned deformer and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: MeshDatasetConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    let t = &cfg.train;
    if !LOSSES.contains(&t.loss.as_str()) {
        bail!(
            "{path}: [train] loss `{}` is not one of {}",
            t.loss,
            LOSSES.join(", ")
        );
    }
    if t.steps == 0 || t.batch < 2 || t.log_every == 0 || !(t.lr > 0.0) {
        bail!(
            "{path}: [train] steps and log_every must be positive, batch ≥ 2 (batch norm), lr > 0"
        );
    }
    cfg.loss
        .validate()
        .map_err(|e| anyhow!("{path}: [loss] {e}"))?;
    let seed = cli.seed.unwrap_or(cfg.seed);
    let (device_name, base) = crate::device::resolve(cli.device.as_deref(), cfg.device.as_deref())?;
    let device = base.clone().autodiff();
    device.seed(seed);
    let meshes = targets(&cfg.shapes, seed).with_context(|| path.clone())?;
    let test = cfg.shapes.test;
    if meshes.len() < test + 2 {
        bail!(
            "{path}: [shapes] needs at least test + 2 = {} targets, has {}",
            test + 2,
            meshes.len()
        );
    }
    let points = cfg.shapes.points;
    let data: Vec<Target> = meshes
        .into_iter()
        .enumerate()
        .map(|(i, mesh)| Target {
            cloud: mesh
                .sample_surface(points, seed.wrapping_add(i as u64))
                .points,
            eval: mesh.sample_surface(2000, 9_000 + i as u64).points,
            mesh,
        })
        .collect();
    let n_train = data.len() - test;
    let template = icosphere(cfg.shapes.template_subdivisions);
    let template_v = template.vertices_tensor(&device);
    let template_f: Tensor<2, Int> = template.faces_tensor(&device);
    let run = RunDir::create(
        &cli.out.clone().unwrap_or_else(|| PathBuf::from("runs")),
        &loaded.name,
        &loaded.resolved(),
    )?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "conditioned deformer: {n_train} training / {test} test targets, template {} vertices, loss {}, device {device_name}",
        template.num_vertices(),
        t.loss
    ));
    let sw_cfg = LossConfig {
        power: true,
        reduction: Reduction::Mean,
        ..cfg.loss.clone()
    };
    let mut model = cfg.model.init(&device);
    let mut optim = AdamConfig::new().init();
    // Chamfer of the undeformed template to each target: the baseline the network must beat.
    let template_samples = template.sample_surface(2000, 5).points;
    let baseline = |range: std::ops::Range<usize>| {
        range
            .clone()
            .map(|i| point_metrics(&template_samples, &data[i].eval).chamfer)
            .sum::<f64>()
            / range.len() as f64
    };
    let eval_train = 0..n_train.min(8);
    let eval_test = n_train..data.len();
    let (base_train, base_test) = (baseline(eval_train.clone()), baseline(eval_test.clone()));
    // Mean Chamfer after deformation over `range`, with the network in evaluation mode.
    let evaluate = |model: &models::mesh_ode::ConditionedDeformer,
                    range: std::ops::Range<usize>|
     -> Result<(f64, Vec<Mesh>)> {
        let frozen = model.valid();
        let tv = template.vertices_tensor(&base);
        let clouds: Vec<&[f32]> = range.clone().map(|i| &data[i].cloud[..]).collect();
        let deformed = frozen.forward(tv, cloud_tensor(&clouds, &base), t.ode_steps, t.method);
        let mut total = 0.0;
        let mut meshes = Vec::new();
        for (v, i) in deformed.into_iter().zip(range.clone()) {
            let mesh = Mesh::new(to_vec(v)?, template.faces.clone())?;
            total += point_metrics(&mesh.sample_surface(2000, 5).points, &data[i].eval).chamfer;
            meshes.push(mesh);
        }
        Ok((total / range.len() as f64, meshes))
    };
    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record([
        "step",
        "train_loss",
        "train_chamfer",
        "test_chamfer",
        "seconds",
    ])?;
    let (mut train_curve, mut test_curve) = (Vec::new(), Vec::new());
    let mut progress = Progress::new("steps", t.steps as u64);
    let mut seconds = 0.0;
    let mut loss_sum = (0.0, 0usize);
    for step in 0..=t.steps {
        if step % t.log_every == 0 || step == t.steps {
            let (train_cd, _) = evaluate(&model, eval_train.clone())?;
            let (test_cd, _) = evaluate(&model, eval_test.clone())?;
            let mean_loss = loss_sum.0 / loss_sum.1.max(1) as f64;
            metrics.write_record([
                step.to_string(),
                format!("{mean_loss:.6e}"),
                format!("{train_cd:.6e}"),
                format!("{test_cd:.6e}"),
                format!("{seconds:.2}"),
            ])?;
            metrics.flush()?;
            let line = format!(
                "step {step}: loss {mean_loss:.5}, Chamfer train {train_cd:.5} (template {base_train:.5}), test {test_cd:.5} (template {base_test:.5})"
            );
            progress.println(&line);
            run.log(&line);
            train_curve.push((step.max(1) as f64, train_cd));
            test_curve.push((step.max(1) as f64, test_cd));
            loss_sum = (0.0, 0);
        }
        if step == t.steps {
            break;
        }
        let start = Instant::now();
        let mut rng =
            rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(step as u64));
        let batch: Vec<usize> = (0..t.batch).map(|_| rng.random_range(0..n_train)).collect();
        let clouds: Vec<&[f32]> = batch.iter().map(|&i| &data[i].cloud[..]).collect();
        let targets = cloud_tensor(&clouds, &device); // [B, P, 3]
        let deformed = model.forward(template_v.clone(), targets.clone(), t.ode_steps, t.method);
        let mut losses = Vec::with_capacity(t.batch);
        for (b, v) in deformed.into_iter().enumerate() {
            let target = targets
                .clone()
                .slice([b..b + 1, 0..points, 0..3])
                .reshape([points, 3]);
            losses.push(match t.loss.as_str() {
                "chamfer" => chamfer_loss(v, target),
                "sw-vertices" => sw_cfg.forward(&vertex_measure(v), &Measure::single(target))?,
                "sw-surface" => sw_cfg.forward(
                    &surface_measure(&v, &template_f, points)?,
                    &Measure::single(target),
                )?,
                _ => {
                    let m = &data[batch[b]].mesh;
                    sw_cfg.forward(
                        &varifold_measure(&v, &template_f, t.normal_weight)?,
                        &varifold_measure(
                            &m.vertices_tensor(&device),
                            &m.faces_tensor(&device),
                            t.normal_weight,
                        )?,
                    )?
                }
            });
        }
        let loss = Tensor::cat(losses, 0).mean();
        let value = loss.clone().into_scalar::<f64>();
        if !value.is_finite() {
            bail!("the loss is {value} at step {step}; lower [train] lr");
        }
        loss_sum = (loss_sum.0 + value, loss_sum.1 + 1);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(t.lr, model, grads);
        seconds += start.elapsed().as_secs_f64();
        progress.inc(1, || format!("loss {value:.5}"));
    }
    progress.finish();
    let (test_cd, test_meshes) = evaluate(&model, eval_test.clone())?;
    for (k, (mesh, i)) in test_meshes
        .iter()
        .zip(eval_test.clone())
        .enumerate()
        .take(4)
    {
        datasets::mesh_io::write_obj(
            run.file(&format!("meshes/test{k}_target.obj"))?,
            &data[i].mesh,
        )?;
        datasets::mesh_io::write_obj(run.file(&format!("meshes/test{k}_deformed.obj"))?, mesh)?;
        plots::cloud_views(
            &run.file(&format!("renders/test{k}.png"))?,
            &format!("held-out target {k}"),
            &[
                ("deformed template", &mesh.vertices),
                ("target samples", &data[i].eval),
            ],
        )?;
        plots::mesh_views(
            &run.file(&format!("renders/test{k}_mesh.png"))?,
            &format!("held-out target {k}"),
            &[("deformed template", mesh), ("target", &data[i].mesh)],
        )?;
    }
    plots::line_plot(
        &run.file("chamfer_vs_step.png")?,
        &format!("Conditioned deformer, loss {}", t.loss),
        "step",
        "Chamfer",
        &[
            Series {
                label: "training targets".into(),
                points: train_curve,
            },
            Series {
                label: "held-out targets".into(),
                points: test_curve,
            },
        ],
        false,
        true,
    )?;
    let summary = format!(
        "held-out Chamfer: template {base_test:.5} → deformed {test_cd:.5} ({:.1}× lower)",
        base_test / test_cd
    );
    println!("{summary}");
    run.log(&summary);
    println!("outputs in {}", run.path().display());
    Ok(())
}
