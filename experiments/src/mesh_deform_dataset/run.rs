//! DDOT's dataset mode: one conditioned network (PointNet code of the target cloud → velocity
//! field v(x, t, z)) deforms the template icosphere towards many targets; trained on a training
//! split once per configured loss (both meshes resampled every step, [`crate::mesh_deform::losses`]), and scored on
//! held-out targets it never saw with the full metric set (Chamfer, ASSD, HD90, SIF %, flipped
//! faces, normal consistency; means over the held-out targets), the four losses in one table.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use datasets::Mesh;
use datasets::synthetic_mesh::{bumpy_sphere, ellipsoid, icosphere};
use models::mesh_ode::ConditionedDeformer;
use models::mesh_ode::metrics::{MeshMetrics, point_metrics};
use rand::{Rng, SeedableRng};
use sw_loss::{BatchReduction, LossConfig};

use super::config::{DatasetShapes, DatasetTrain, MeshDatasetConfig};
use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::mesh_deform::losses::LOSSES;
use crate::mesh_deform::targets::Target;
use crate::mesh_deform::{eval, losses};
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;

/// One target: the mesh (unit frame and file units), the encoder's cloud, curve samples.
struct Item {
    target: Target,
    cloud: Vec<f32>,
    eval: Vec<f32>,
}

fn targets(s: &DatasetShapes, seed: u64) -> Result<Vec<Target>> {
    if let Some(dir) = &s.target_dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("[shapes] target_dir {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| {
                    ["obj", "off", "ply", "white", "pial"]
                        .contains(&x.to_ascii_lowercase().to_str().unwrap_or(""))
                })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            bail!(
                "[shapes] target_dir {}: no .obj, .off, .ply, .white or .pial files",
                dir.display()
            );
        }
        return files.iter().map(|f| Target::from_file(f)).collect();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x7461_7267);
    Ok((0..s.targets)
        .map(|i| {
            let k = s.target_subdivisions;
            Target::synthetic(if i % 2 == 0 {
                ellipsoid(
                    k,
                    rng.random_range(0.55..1.1),
                    rng.random_range(0.55..1.1),
                    rng.random_range(0.55..1.1),
                )
            } else {
                bumpy_sphere(k, rng.random_range(0.05..0.25), rng.random())
            })
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

/// The template deformed towards targets `range` (network in evaluation mode), unit frame.
fn deform_all(
    model: &ConditionedDeformer,
    template: &Mesh,
    items: &[Item],
    range: std::ops::Range<usize>,
    t: &DatasetTrain,
    base: &Device,
) -> Result<Vec<Mesh>> {
    let frozen = model.valid();
    let clouds: Vec<&[f32]> = range.clone().map(|i| &items[i].cloud[..]).collect();
    frozen
        .forward(
            template.vertices_tensor(base),
            cloud_tensor(&clouds, base),
            t.ode_steps,
            t.method,
        )
        .into_iter()
        .map(|v| Ok(Mesh::new(to_vec(v)?, template.faces.clone())?))
        .collect()
}

/// Mean point-set Chamfer (2 000 samples, unit frame) of `meshes` to targets `range`: the
/// cheap curve logged during training.
fn curve_chamfer(meshes: &[Mesh], items: &[Item], range: std::ops::Range<usize>) -> f64 {
    meshes
        .iter()
        .zip(range.clone())
        .map(|(m, i)| point_metrics(&m.sample_surface(2000, 5).points, &items[i].eval).chamfer)
        .sum::<f64>()
        / range.len().max(1) as f64
}

/// Everything one training needs, shared by the losses.
struct Setup<'a> {
    cfg: &'a MeshDatasetConfig,
    items: &'a [Item],
    template: &'a Mesh,
    n_train: usize,
    seed: u64,
    device: &'a Device,
    base: &'a Device,
}

/// Checks what serde cannot (the error names the file and the table); the registry's check.
pub fn validate(cfg: &MeshDatasetConfig, path: &str) -> Result<()> {
    let t = &cfg.train;
    if let Some(bad) = t.losses.iter().find(|l| !LOSSES.contains(&l.as_str())) {
        bail!(
            "{path}: [train] losses: `{bad}` is not one of {}",
            LOSSES.join(", ")
        );
    }
    if t.losses.is_empty()
        || t.steps == 0
        || t.batch < 2
        || t.log_every == 0
        || !(t.lr > 0.0)
        || !(t.adam_epsilon > 0.0 && t.adam_epsilon.is_finite())
        || !(t.chamfer_scale > 0.0 && t.chamfer_scale.is_finite())
        || cfg.shapes.eval_points == 0
        || cfg.shapes.test == 0
        || cfg.shapes.points == 0
    {
        bail!(
            "{path}: [train] losses must be non-empty, steps and log_every positive, batch ≥ 2 (batch norm), lr, adam_epsilon and chamfer_scale finite and > 0; [shapes] eval_points, test and points positive"
        );
    }
    cfg.loss
        .validate()
        .map_err(|e| anyhow!("{path}: [loss] {e}"))?;
    Ok(())
}

/// Each target with its training cloud (`points` surface samples seeded from (seed, i)) and
/// its 2 000 evaluation samples.
fn items_of(meshes: Vec<Target>, points: usize, seed: u64) -> Vec<Item> {
    meshes
        .into_iter()
        .enumerate()
        .map(|(i, target)| Item {
            cloud: target
                .unit
                .sample_surface(points, seed.wrapping_add(i as u64))
                .points,
            eval: target.unit.sample_surface(2000, 9_000 + i as u64).points,
            target,
        })
        .collect()
}

impl Setup<'_> {
    /// Scores the deformed template on every held-out target into `held_out.csv`, with the
    /// meshes and renders of the first four. Returns the scores.
    fn held_out(
        &self,
        loss_name: &str,
        model: &ConditionedDeformer,
        seconds: f64,
        held_out: &mut csv::Writer<std::fs::File>,
        run: &RunDir,
    ) -> Result<Vec<MeshMetrics>> {
        let (items, template) = (self.items, self.template);
        let eval_test = self.n_train..items.len();
        let deformed = deform_all(
            model,
            template,
            items,
            eval_test.clone(),
            &self.cfg.train,
            self.base,
        )?;
        let mut scores = Vec::new();
        for (k, (mesh, i)) in deformed.iter().zip(eval_test.clone()).enumerate() {
            let m = items[i]
                .target
                .score(template, mesh, self.cfg.shapes.eval_points, 7)
                .with_context(|| {
                    format!("loss `{loss_name}`, test target {i}: lower [train] lr")
                })?;
            held_out.write_record(
                [loss_name.to_string(), i.to_string()]
                    .into_iter()
                    .chain(eval::cells(&m, seconds)),
            )?;
            scores.push(m);
            if k < 4 {
                datasets::mesh_io::write_obj(
                    run.file(&format!("meshes/{loss_name}_test{k}_deformed.obj"))?,
                    &items[i].target.frame.inverse(mesh),
                )?;
                plots::mesh_views(
                    &run.file(&format!("renders/{loss_name}_test{k}_mesh.png"))?,
                    &format!("{loss_name}, held-out target {k}, ASSD {:.4}", m.assd),
                    &[
                        ("deformed template", mesh),
                        ("target", &items[i].target.unit),
                    ],
                )?;
            }
        }
        Ok(scores)
    }
}

/// Trains one conditioned deformer with `loss_name`, logging curves to `metrics`.
#[allow(clippy::type_complexity)]
fn train_one(
    s: &Setup,
    loss_name: &str,
    metrics: &mut csv::Writer<std::fs::File>,
    run: &RunDir,
) -> Result<(ConditionedDeformer, f64, Vec<(f64, f64)>)> {
    let t = &s.cfg.train;
    let points = s.cfg.shapes.points;
    let sw_cfg = LossConfig {
        power: true,
        reduction: BatchReduction::Mean,
        ..s.cfg.loss.clone()
    };
    s.device.seed(s.seed);
    let mut model = s.cfg.model.init(s.device);
    let mut optim = losses::adam(t.adam_epsilon).init();
    let template_v = s.template.vertices_tensor(s.device);
    let template_f: Tensor<2, Int> = s.template.faces_tensor(s.device);
    let (eval_train, eval_test) = (0..s.n_train.min(8), s.n_train..s.items.len());
    let mut curve = Vec::new();
    let mut progress = Progress::new(loss_name, t.steps as u64);
    let mut seconds = 0.0;
    let mut loss_sum = (0.0, 0usize);
    for step in 0..=t.steps {
        if step % t.log_every == 0 || step == t.steps {
            let train_cd = curve_chamfer(
                &deform_all(&model, s.template, s.items, eval_train.clone(), t, s.base)?,
                s.items,
                eval_train.clone(),
            );
            let test_cd = curve_chamfer(
                &deform_all(&model, s.template, s.items, eval_test.clone(), t, s.base)?,
                s.items,
                eval_test.clone(),
            );
            let mean_loss = loss_sum.0 / loss_sum.1.max(1) as f64;
            metrics.write_record([
                loss_name.to_string(),
                step.to_string(),
                format!("{mean_loss:.6e}"),
                format!("{train_cd:.6e}"),
                format!("{test_cd:.6e}"),
                format!("{seconds:.2}"),
            ])?;
            metrics.flush()?;
            let line = format!(
                "{loss_name} step {step}: loss {mean_loss:.5}, Chamfer train {train_cd:.5}, held-out {test_cd:.5}"
            );
            progress.println(&line);
            run.log(&line);
            curve.push((step.max(1) as f64, test_cd));
            loss_sum = (0.0, 0);
        }
        if step == t.steps {
            break;
        }
        let start = Instant::now();
        let mut rng =
            rand::rngs::StdRng::seed_from_u64(s.seed.wrapping_mul(31).wrapping_add(step as u64));
        let batch: Vec<usize> = (0..t.batch)
            .map(|_| rng.random_range(0..s.n_train))
            .collect();
        let clouds: Vec<&[f32]> = batch.iter().map(|&i| &s.items[i].cloud[..]).collect();
        let codes_in = cloud_tensor(&clouds, s.device); // [B, P, 3]
        let deformed = model.forward(template_v.clone(), codes_in, t.ode_steps, t.method);
        let mut losses = Vec::with_capacity(t.batch);
        for (b, v) in deformed.iter().enumerate() {
            losses.push(
                losses::training_loss(
                    loss_name,
                    v,
                    &template_f,
                    &s.items[batch[b]].target.unit,
                    None,
                    points,
                    rng.random(),
                    &sw_cfg,
                    t.normal_weight,
                )?
                .mul_scalar(losses::loss_weight(loss_name, t.chamfer_scale)),
            );
        }
        let loss = Tensor::cat(losses, 0).mean();
        let (what, at) = (format!("loss `{loss_name}`"), format!("step {step}"));
        let kept = crate::numerics::Kept::Nothing;
        let (value, grads) = crate::numerics::checked_backward(loss, &model, &what, &at, kept)?;
        loss_sum = (loss_sum.0 + value, loss_sum.1 + 1);
        model = optim.step(t.lr, model, grads);
        seconds += start.elapsed().as_secs_f64();
        progress.inc(1, || format!("loss {value:.5}"));
    }
    progress.finish();
    Ok((model, seconds, curve))
}

/// Trains one conditioned deformer per loss and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: MeshDatasetConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    validate(&cfg, &path)?;
    let t = &cfg.train;
    let Opening {
        seed,
        device_name,
        device: base,
    } = Opening::resolve(cli, &cfg.header)?;
    let device = base.clone().autodiff();
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
    let items = items_of(meshes, points, seed);
    let n_train = items.len() - test;
    let template = icosphere(cfg.shapes.template_subdivisions);
    let faces = items
        .iter()
        .map(|i| i.target.unit.num_faces())
        .max()
        .unwrap_or(0);
    for loss_name in &t.losses {
        let samples = (points, "[shapes] points");
        losses::check_memory(loss_name, t.batch, samples, &template, faces, &cfg.loss)
            .map_err(|e| anyhow!("{path}: {e}"))?;
    }
    let run = RunDir::create(
        &cli.out.clone().unwrap_or_else(|| PathBuf::from("runs")),
        &loaded.name,
        &loaded.resolved(),
    )?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "conditioned deformer: {n_train} training / {test} held-out targets, template {} vertices, losses {}, device {device_name}",
        template.num_vertices(),
        t.losses.join(", ")
    ));
    let eval_test = n_train..items.len();
    // The undeformed template: the row every loss must beat.
    let template_row = MeshMetrics::mean(
        &eval_test
            .clone()
            .map(|i| {
                items[i]
                    .target
                    .score(&template, &template, cfg.shapes.eval_points, 7)
            })
            .collect::<Result<Vec<_>>>()?,
    );
    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record([
        "loss",
        "step",
        "train_loss",
        "train_chamfer",
        "test_chamfer",
        "seconds",
    ])?;
    let mut held_out = csv::Writer::from_path(run.file("held_out.csv")?)?;
    held_out.write_record(["loss", "target"].iter().chain(&eval::COLUMNS))?;
    let setup = Setup {
        cfg: &cfg,
        items: &items,
        template: &template,
        n_train,
        seed,
        device: &device,
        base: &base,
    };
    let mut rows = vec![("template".to_string(), template_row, 0.0)];
    let mut series = Vec::new();
    for (k, i) in eval_test.clone().enumerate().take(4) {
        datasets::mesh_io::write_obj(
            run.file(&format!("meshes/test{k}_target.obj"))?,
            &items[i].target.original,
        )?;
    }
    for loss_name in &t.losses {
        let (model, seconds, curve) = train_one(&setup, loss_name, &mut metrics, &run)?;
        let scores = setup.held_out(loss_name, &model, seconds, &mut held_out, &run)?;
        held_out.flush()?;
        rows.push((loss_name.clone(), MeshMetrics::mean(&scores), seconds));
        series.push(Series {
            label: loss_name.clone(),
            points: curve,
        });
    }
    plots::line_plot(
        &run.file("chamfer_vs_step.png")?,
        "Conditioned deformer: held-out Chamfer",
        "step",
        "Chamfer",
        &series,
        false,
        true,
    )?;
    eval::write_comparison(&run.file("comparison.csv")?, &rows)?;
    let text = format!(
        "held-out targets (means over {test}):{}",
        eval::table_text(&rows)
    );
    println!("{text}");
    run.log(&text);
    println!("outputs in {}", run.path().display());
    Ok(())
}
