//! End-to-end tests of the gradient flow (CV-SW): tiny runs, determinism, the shipped ShapeNet
//! pair in every array layout.

mod common;

use std::path::Path;

use common::*;

#[test]
fn tiny_flow_runs_decreases_w2_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let flow = repo().join("configs/gradient_flow_synthetic.toml");
    let mut runs = Vec::new();
    for out in ["a", "b"] {
        let mut args = vec![
            "--config",
            flow.to_str().unwrap(),
            "--out",
            out,
            "--seed",
            "3",
        ];
        args.extend_from_slice(&TINY_FLOW);
        let o = experiments(&args, dir.path());
        assert!(o.status.success(), "{}", stderr(&o));
        runs.push(only_run_dir(
            &dir.path().join(out).join("gradient_flow_synthetic"),
        ));
    }
    let run = &runs[0];
    for f in [
        "config.toml",
        "log.txt",
        "metrics.csv",
        "w2_vs_step.png",
        "clouds/source.ply",
        "clouds/target.ply",
        "clouds/final_sw.ply",
        "clouds/final_ucv-sw.ply",
        "renders/lcv-sw_step00060.png",
    ] {
        let p = run.join(f);
        assert!(
            p.exists() && std::fs::metadata(&p).unwrap().len() > 0,
            "missing {f}"
        );
    }
    let a = w2_column(&runs[0]);
    assert_eq!(a.len(), 9, "3 estimators × 3 logged steps");
    for kind in ["sw", "lcv-sw", "ucv-sw"] {
        let w: Vec<f64> = a.iter().filter(|r| r.0 == kind).map(|r| r.2).collect();
        assert!(w.iter().all(|v| v.is_finite() && *v > 0.0));
        assert!(
            w[2] < w[0],
            "{kind}: W2^2 at the last logged step {} is not below the first {}",
            w[2],
            w[0]
        );
    }
    assert_eq!(a, w2_column(&runs[1]), "same seed, same metrics");
}

/// Writes the shipped ShapeNet array again as `.npy` in Fortran order or as float64, or with a
/// NaN at (cloud, point); the values are the shipped ones (read with the C-order reader).
fn rewrite_shapenet(path: &Path, fortran: bool, float64: bool, nan_at: Option<(usize, usize)>) {
    let shipped =
        datasets::npy::read_clouds(repo().join("datasets/data/shapenetcore55_random50.npy"))
            .unwrap();
    let (n, p) = (shipped.count, shipped.points);
    let mut values = shipped.values.clone();
    if let Some((c, q)) = nan_at {
        values[(c * p + q) * 3] = f32::NAN;
    }
    // Element (i, j, k) of the (n, p, 3) array; Fortran order stores i fastest.
    let order: Vec<f32> = if fortran {
        (0..3)
            .flat_map(|k| (0..p).flat_map(move |j| (0..n).map(move |i| (i, j, k))))
            .map(|(i, j, k)| values[(i * p + j) * 3 + k])
            .collect()
    } else {
        values
    };
    let shape = [n as u64, p as u64, 3];
    let layout = if fortran {
        npyz::Order::Fortran
    } else {
        npyz::Order::C
    };
    if float64 {
        write_npy(path, &shape, layout, order.iter().map(|&v| v as f64));
    } else {
        write_npy(path, &shape, layout, order);
    }
}

fn write_npy<T: npyz::AutoSerialize>(
    path: &Path,
    shape: &[u64],
    layout: npyz::Order,
    values: impl IntoIterator<Item = T>,
) {
    use npyz::WriterBuilder;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .order(layout)
        .writer(&mut file)
        .begin_nd()
        .unwrap();
    w.extend(values).unwrap();
    w.finish().unwrap();
}

/// W₂² at step 1 of the flow (before any update) is the exact W₂² between 2·A[32] − 10 and
/// 2·A[33] + 10: 1200.938744 by POT's network simplex (`scripts/fixtures/shapenet_flow_w2.py`).
/// The shipped config (run from another directory: its data path is found from the config's
/// folder), a Fortran-order copy and a float64 copy of the array all give it; a NaN in cloud 32
/// is an error naming the file, cloud and point, and creates no run folder.
#[test]
fn shipped_flow_is_the_papers_shapenet_pair_whatever_the_array_layout() {
    let dir = tempfile::tempdir().unwrap();
    let flow = repo().join("configs/gradient_flow.toml");
    let one_step = [
        "--set",
        "flow.steps=1",
        "--set",
        "flow.log_steps=[1]",
        "--set",
        "flow.estimators=[\"sw\"]",
        "--set",
        "output.renders=false",
        "--set",
        "output.ply=false",
    ];
    let fortran = dir.path().join("fortran.npy");
    let float64 = dir.path().join("float64.npy");
    let nan = dir.path().join("nan.npy");
    rewrite_shapenet(&fortran, true, false, None);
    rewrite_shapenet(&float64, false, true, None);
    rewrite_shapenet(&nan, false, false, Some((32, 1500)));
    for (out, file) in [
        ("shipped", None),
        ("fortran", Some(&fortran)),
        ("float64", Some(&float64)),
    ] {
        let mut args = vec!["--config", flow.to_str().unwrap(), "--out", out];
        args.extend_from_slice(&one_step);
        let set_file = file.map(|f| format!("data.file=\"{}\"", f.display()));
        if let Some(s) = &set_file {
            args.extend_from_slice(&["--set", s]);
        }
        let o = experiments(&args, dir.path());
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        let run = only_run_dir(&dir.path().join(out).join("gradient_flow"));
        let w = w2_column(&run);
        assert_eq!(w.len(), 1, "{out}: {w:?}");
        assert!(
            (w[0].2 - 1200.938744).abs() < 0.02,
            "{out}: W2^2 at step 1 = {} (POT: 1200.938744)",
            w[0].2
        );
    }
    let set_nan = format!("data.file=\"{}\"", nan.display());
    let mut args = vec!["--config", flow.to_str().unwrap(), "--out", "nan"];
    args.extend_from_slice(&one_step);
    args.extend_from_slice(&["--set", &set_nan]);
    let o = experiments(&args, dir.path());
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("nan.npy") && e.contains("cloud 32, point 1500") && e.contains("NaN"),
        "{e}"
    );
    assert!(
        !dir.path().join("nan").exists(),
        "a failed run left a folder"
    );
}

/// A number of projections whose directions alone exceed the memory budget stops with the
/// budget error, naming `memory_budget`, before the run folder is made.
#[test]
fn an_unfittable_loss_is_refused_before_the_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let flow = repo().join("configs/gradient_flow.toml");
    let o = experiments(
        &[
            "--config",
            flow.to_str().unwrap(),
            "--out",
            "runs",
            "--set",
            "loss.projections=100000000",
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("[loss]") && e.contains("memory_budget"), "{e}");
    assert!(!dir.path().join("runs").exists(), "a run folder was made");
}

/// Above `flow.exact_w2_max_points` the exact W₂² is skipped with a note, and the flow still
/// runs and writes its clouds and renders (the SW steps in chunks under a small budget).
#[test]
fn the_exact_w2_is_skipped_above_its_size_and_the_loss_runs_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let flow = repo().join("configs/gradient_flow_synthetic.toml");
    let o = experiments(
        &[
            "--config",
            flow.to_str().unwrap(),
            "--out",
            "runs",
            "--set",
            "data.points=3000",
            "--set",
            "flow.exact_w2_max_points=2000",
            "--set",
            "flow.steps=3",
            "--set",
            "flow.log_steps=[1, 3]",
            "--set",
            "flow.estimators=[\"sw\", \"ucv-sw\"]",
            "--set",
            "loss.projections=64",
            // 6 000 points × 20 B = 120 kB per direction: chunks of a few directions.
            "--set",
            "loss.memory_budget=800000",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = only_run_dir(&dir.path().join("runs").join("gradient_flow_synthetic"));
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(
        log.contains("exact W2^2 skipped") && log.contains("exact_w2_max_points"),
        "{log}"
    );
    for f in [
        "clouds/final_sw.ply",
        "clouds/final_ucv-sw.ply",
        "renders/sw_step00003.png",
    ] {
        assert!(run.join(f).exists(), "missing {f}");
    }
    assert!(!run.join("w2_vs_step.png").exists());
}
