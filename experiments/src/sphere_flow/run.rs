//! The flow's data, step and loop (see the module doc of [`crate::sphere_flow`]).

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use sw_loss::directions::normalize_rows;
use sw_loss::{EstimatorKind, LossConfig, Measure, sphere};

use super::config::SphereFlowConfig;
use crate::cli::Cli;
use crate::config::Loaded;
use crate::header::Opening;
use crate::plots::{self, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;
use crate::run_layer::due;

/// Source (uniform on S²) and target (the vMF mixture, `target_points` split evenly).
fn data(cfg: &SphereFlowConfig, device: &Device) -> Result<(Tensor<2>, Tensor<2>)> {
    let d = &cfg.data;
    let source = normalize_rows(Tensor::<2>::random(
        [d.source_points, 3],
        Distribution::Normal(0.0, 1.0),
        device,
    ));
    let k = d.target_means.len();
    let per = d.target_points.div_ceil(k);
    let means: Vec<f64> = d.target_means.iter().flatten().copied().collect();
    let mu = normalize_rows(Tensor::<2>::from_data(
        TensorData::new(means, [k, 3]),
        device,
    ));
    let samples = sw_loss::vmf::sample(mu, d.kappa, per)?; // [K, per, 3]
    let target = samples
        .reshape([k * per, 3])
        .slice([0..d.target_points, 0..3]);
    Ok((source, target))
}

/// One step of `loss` from x: the loss value and the projected update.
fn step(cfg: &SphereFlowConfig, loss: &str, x: Tensor<2>, y: &Measure) -> Result<(Tensor<2>, f64)> {
    let n = x.dims()[0];
    let xa = x.clone().autodiff().require_grad();
    let xm = Measure::single(xa.clone());
    // The squared distances (SSW₂², SW₂², S3W₂², RI-S3W₂²), as the papers' flows minimise.
    let kind = EstimatorKind::ALL
        .into_iter()
        .find(|k| k.name() == loss)
        .ok_or_else(|| anyhow!("[flow] losses: unknown `{loss}`"))?;
    let value = LossConfig {
        kind,
        projections: cfg.flow.projections,
        s3w_rotations: cfg.flow.s3w_rotations,
        power: true,
        ..LossConfig::default()
    }
    .forward(&xm, y)?;
    let grads = value.clone().mul_scalar(n as f64).backward();
    let g = xa
        .grad(&grads)
        .ok_or_else(|| anyhow!("no gradient reached the points"))?;
    let next = normalize_rows(x - g.mul_scalar(cfg.flow.lr));
    Ok((next, value.inner().into_scalar::<f64>()))
}

fn host(t: &Tensor<2>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

/// Runs the flow of every loss and writes the run folder.
pub fn run(loaded: &Loaded, cli: &Cli) -> Result<()> {
    let cfg: SphereFlowConfig = loaded.parse()?;
    let path = loaded.path.display().to_string();
    cfg.validate().map_err(|e| anyhow!("{path}: {e}"))?;
    let Opening {
        seed,
        device_name,
        device,
    } = Opening::resolve(cli, &cfg.header)?;
    device.seed(seed);
    let (source, target) = data(&cfg, &device)?;
    let frames = sphere::stiefel_frames(cfg.flow.metric_frames, 3, &device)?;
    let y_plain = Measure::single(target.clone());
    let y = Measure::single(target.clone().autodiff());
    let metric = |x: &Tensor<2>| -> Result<f64> {
        let v = sphere::ssw_with_frames(&Measure::single(x.clone()), &y_plain, &frames, 2.0)?;
        Ok(v.into_scalar::<f64>())
    };
    let root = cli.out.clone().unwrap_or_else(|| PathBuf::from("runs"));
    let run = RunDir::create(&root, &loaded.name, &loaded.resolved())?;
    println!("run folder: {}", run.path().display());
    run.log(&format!(
        "sphere flow: {} uniform points -> {} points of a {}-component vMF mixture (kappa {}); device {device_name}; seed {seed}",
        cfg.data.source_points,
        cfg.data.target_points,
        cfg.data.target_means.len(),
        cfg.data.kappa
    ));
    let mut metrics = csv::Writer::from_path(run.file("metrics.csv")?)?;
    metrics.write_record(["loss", "step", "ssw2_to_target", "seconds"])?;
    let (mut series, mut table) = (Vec::new(), String::new());
    let last = cfg.flow.steps;
    for loss in &cfg.flow.losses {
        device.seed(seed.wrapping_add(1));
        let mut x = source.clone();
        let mut points = vec![(0.0, metric(&x)?)];
        let (mut seconds, mut progress) = (0.0, Progress::new(loss, last as u64));
        for s in 1..=last {
            let start = std::time::Instant::now();
            let (next, value) = step(&cfg, loss, x, &y)?;
            x = next;
            seconds += start.elapsed().as_secs_f64();
            progress.inc(1, || format!("loss {value:.5}"));
            if cfg.flow.log_steps.contains(&s) || due(s, 0, last) {
                let m = metric(&x)?;
                metrics.write_record([
                    loss.clone(),
                    s.to_string(),
                    format!("{m:.9e}"),
                    format!("{seconds:.3}"),
                ])?;
                points.push((s as f64, m));
            }
        }
        progress.finish();
        metrics.flush()?;
        let t = host(&target);
        let xs = host(&x);
        plots::cloud_views(
            &run.file(&format!("points_{loss}.png"))?,
            &format!("sphere flow, {loss}, step {last}: points (blue) and target (red)"),
            &[("points", &xs), ("target", &t)],
        )?;
        let row: Vec<String> = points.iter().map(|p| format!("{:.5}", p.1)).collect();
        table += &format!("{loss:<5} {}  ({seconds:.1} s)\n", row.join(" "));
        series.push(Series {
            label: loss.clone(),
            points,
        });
    }
    plots::line_plot(
        &run.file("ssw_vs_step.png")?,
        "Flow on S²: SSW₂ to the target",
        "step",
        "SSW₂",
        &series,
        false,
        true,
    )?;
    let header = format!(
        "SSW2 to the target at steps 0 and {:?}:\n",
        cfg.flow.log_steps
    );
    println!("{header}{table}");
    run.log(&format!("{header}{table}"));
    println!("outputs in {}", run.path().display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short flow of each spherical loss (ssw, s3w, ri-s3w) brings the points closer to the
    /// target (the SSW₂ metric on fixed frames falls), and every step keeps them on the sphere.
    #[test]
    fn a_short_spherical_flow_moves_the_points_to_the_target() {
        let device = Device::flex();
        device.seed(3);
        let mut cfg: SphereFlowConfig =
            crate::header::from_toml("experiment = \"sphere_flow\"").unwrap();
        cfg.data.source_points = 80;
        cfg.data.target_points = 80;
        cfg.flow.projections = 20;
        let (source, target) = data(&cfg, &device).unwrap();
        let frames = sphere::stiefel_frames(200, 3, &device).unwrap();
        let y_plain = Measure::single(target.clone());
        let metric = |x: &Tensor<2>| {
            sphere::ssw_with_frames(&Measure::single(x.clone()), &y_plain, &frames, 2.0)
                .unwrap()
                .into_scalar::<f64>()
        };
        let y = Measure::single(target.autodiff());
        let before = metric(&source);
        for loss in ["ssw", "s3w", "ri-s3w"] {
            let mut x = source.clone();
            for _ in 0..40 {
                x = step(&cfg, loss, x, &y).unwrap().0;
            }
            let after = metric(&x);
            assert!(after < 0.85 * before, "{loss}: SSW₂ {before} -> {after}");
            let norms = host(&x.square().sum_dim(1).reshape([80, 1]));
            assert!(norms.iter().all(|v| (v - 1.0).abs() < 1e-5));
        }
    }
}
