//! End-to-end tests of the binary: config errors, tiny runs of every config, determinism and
//! run-folder safety.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Writes `text` to `<dir>/bad.toml`, runs it (it must fail) and returns stderr.
fn config_error(dir: &Path, text: &str) -> String {
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let o = experiments(&["--config", bad.to_str().unwrap()], dir);
    assert!(!o.status.success(), "{text:?} ran");
    stderr(&o)
}

/// The W₂² column of a flow's metrics.csv, by estimator.
fn w2_column(run: &Path) -> Vec<(String, usize, f64)> {
    let mut reader = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
            )
        })
        .collect()
}

const TINY_FLOW: [&str; 8] = [
    "--set",
    "flow.steps=60",
    "--set",
    "flow.log_steps=[1,30,60]",
    "--set",
    "data.points=256",
    "--set",
    "flow.lr=0.02",
];

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let e = config_error(
        dir.path(),
        "experiment = \"gradient_flow\"\n[flow]\nstep = 10\n",
    );
    assert!(
        e.contains("bad.toml")
            && e.contains("flow")
            && e.contains("unknown field `step`")
            && e.contains("line 3"),
        "{e}"
    );
    let e = config_error(
        dir.path(),
        "experiment = \"gradient_flow\"\n[flow]\nsteps = \"many\"\n",
    );
    assert!(
        e.contains("flow.steps") && e.contains("invalid type"),
        "{e}"
    );

    let flow = repo().join("configs/gradient_flow.toml");
    let e = stderr(&experiments(
        &[
            "--config",
            flow.to_str().unwrap(),
            "--set",
            "loss.projections=ten",
        ],
        dir.path(),
    ));
    assert!(e.contains("loss.projections") && e.contains("--set"), "{e}");

    let e = stderr(&experiments(&["--config", "nope.toml"], dir.path()));
    assert!(e.contains("nope.toml") && e.contains("not found"), "{e}");

    let e = stderr(&experiments(
        &["--config", flow.to_str().unwrap(), "--device", "tpu"],
        dir.path(),
    ));
    assert!(
        e.contains("unknown device `tpu`") && e.contains("compiled: flex"),
        "{e}"
    );

    let e = config_error(
        dir.path(),
        "experiment = \"gradient_flow\"\n[data]\nsource = \"blob\"\n",
    );
    assert!(
        e.contains("[data] source") && e.contains("bumpy-sphere"),
        "{e}"
    );
    // An unknown experiment lists the known ones; each known one is dispatched (its own
    // parser names the stray key).
    let e = config_error(dir.path(), "experiment = \"teleport\"\n");
    assert!(e.contains("unknown experiment `teleport`"), "{e}");
    for name in experiments::config::EXPERIMENTS {
        assert!(e.contains(name), "{name} missing from: {e}");
        let e = config_error(
            dir.path(),
            &format!("experiment = \"{name}\"\nbogus_key = 1\n"),
        );
        assert!(e.contains("bogus_key"), "{name}: {e}");
    }
    // Nothing was written for failed configs.
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn every_config_parses_and_is_listed() {
    let o = experiments(&["list"], &repo());
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut count = 0;
    for entry in std::fs::read_dir(repo().join("configs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            listing.contains(&name),
            "{name} missing from `experiments list`:\n{listing}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let kind = toml::from_str::<toml::Table>(&text).unwrap()["experiment"]
            .as_str()
            .unwrap()
            .to_string();
        let loaded = experiments::config::load(&path, &[]).unwrap();
        match kind.as_str() {
            "gradient_flow" => drop(loaded.parse::<experiments::flow::FlowConfig>().unwrap()),
            "variance" => drop(
                loaded
                    .parse::<experiments::variance::VarianceConfig>()
                    .unwrap(),
            ),
            "mesh_deform" => drop(
                loaded
                    .parse::<experiments::mesh_deform::MeshDeformConfig>()
                    .unwrap(),
            ),
            "autoencoder" => drop(
                loaded
                    .parse::<experiments::autoencoder::AutoencoderConfig>()
                    .unwrap(),
            ),
            "sngan" => drop(loaded.parse::<experiments::sngan::SnganConfig>().unwrap()),
            "mesh_deform_dataset" => drop(
                loaded
                    .parse::<experiments::mesh_dataset::MeshDatasetConfig>()
                    .unwrap(),
            ),
            "shape_corr" => loaded
                .parse::<experiments::shape_corr::config::ShapeCorrConfig>()
                .unwrap()
                .validate(&name)
                .unwrap(),
            other => panic!("{name}: unknown experiment {other}"),
        }
        count += 1;
    }
    assert!(count >= 9);
}

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

#[test]
fn existing_run_folders_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let flow = repo().join("configs/gradient_flow_synthetic.toml");
    let mut args = vec![
        "--config",
        flow.to_str().unwrap(),
        "--out",
        "runs",
        "--set",
        "output.renders=false",
    ];
    args.extend_from_slice(&TINY_FLOW);
    // Two runs in the same second: the second gets its own folder.
    for _ in 0..2 {
        assert!(experiments(&args, dir.path()).status.success());
    }
    let parent = dir.path().join("runs/gradient_flow_synthetic");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 2, "{folders:?}");
    let first = std::fs::read(folders[0].join("metrics.csv")).unwrap();
    assert!(experiments(&args, dir.path()).status.success());
    assert_eq!(
        std::fs::read(folders[0].join("metrics.csv")).unwrap(),
        first
    );
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 3);
}

#[test]
fn tiny_variance_study_writes_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = format!(
        "data.file=\"{}\"",
        repo()
            .join("datasets/data/shapenetcore55_random50.npy")
            .display()
    );
    let o = run_config(
        dir.path(),
        "variance.toml",
        &[
            &file,
            "study.projections=[5,20]",
            "study.repetitions=20",
            "study.reference_directions=20000",
            "study.gaussian_points=256",
        ],
    );
    let run = finished_run(
        &o,
        &dir.path().join("runs/variance"),
        &[
            "metrics.csv",
            "error_vs_L_shapes.png",
            "error_vs_L_gaussian.png",
            "variance_vs_L_shapes.png",
            "variance_vs_L_gaussian.png",
            "log.txt",
            "config.toml",
        ],
    );
    let mut reader = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(
        rows.len(),
        2 * 2 * 3 * 3,
        "pairs × L × samplers × estimators"
    );
    for r in &rows {
        for k in 4..9 {
            let v: f64 = r[k].parse().unwrap();
            assert!(v.is_finite() && v >= 0.0, "{r:?}");
        }
        if &r[1] == "uniform" && &r[2] == "sw" {
            assert!(
                (r[8].parse::<f64>().unwrap() - 1.0).abs() < 1e-9,
                "uniform MC's own ratio is 1"
            );
        }
    }
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("shapes L=20: lowest variance"), "{log}");
}

#[test]
fn download_refuses_unknown_and_unverifiable_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let e = stderr(&experiments(
        &["download", "mnist", "--dir", "d"],
        dir.path(),
    ));
    assert!(
        e.contains("unknown dataset `mnist`") && e.contains("cifar10"),
        "{e}"
    );
    let e = stderr(&experiments(
        &["download", "modelnet40", "--dir", "d"],
        dir.path(),
    ));
    assert!(
        e.contains("by hand") && e.contains("datasets/README.md"),
        "{e}"
    );
}

#[test]
fn mesh_deform_fits_an_ellipsoid_with_every_sw_loss() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(
        dir.path(),
        "mesh_deform.toml",
        &[
            "fit.losses=[\"sw-vertices\",\"sw-surface\",\"sw-varifold\"]",
            "shapes.template_subdivisions=2",
            "shapes.target_subdivisions=3",
            "field.width=32",
            "fit.steps=120",
            "fit.log_every=120",
            "fit.ode_steps=2",
            "fit.samples=1024",
            "fit.lr=0.01",
            "fit.eval_points=5000",
        ],
    );
    let run = finished_run(
        &o,
        &dir.path().join("runs/mesh_deform"),
        &[
            "metrics.csv",
            "comparison.csv",
            "assd_vs_step.png",
            "meshes/target.obj",
            "meshes/sw-varifold_step00120.obj",
            "renders/sw-surface_step00000.png",
        ],
    );
    // The shaded render: two panels, each with lit (non-white, not black) mesh pixels.
    let img = image::open(run.join("renders/sw-surface_step00120_mesh.png"))
        .unwrap()
        .to_rgb8();
    let (w, h) = img.dimensions();
    for half in [0..w / 2, w / 2..w] {
        let lit = half
            .clone()
            .flat_map(|x| (64..h).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
            .count();
        assert!(lit > 5_000, "panel {half:?}: {lit} lit pixels");
    }
    // Columns: loss, step, chamfer, assd, hd90, sif_percent, flipped, normal_consistency, seconds.
    let mut reader = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "loss",
            "step",
            "chamfer",
            "assd",
            "hd90",
            "sif_percent",
            "flipped",
            "normal_consistency",
            "seconds"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    for loss in ["sw-vertices", "sw-surface", "sw-varifold"] {
        let column = |k: usize| -> Vec<f64> {
            rows.iter()
                .filter(|r| &r[0] == loss)
                .map(|r| r[k].parse().unwrap())
                .collect()
        };
        let (chamfer, assd, hd90) = (column(2), column(3), column(4));
        assert_eq!(chamfer.len(), 2);
        assert!(
            chamfer[1] * 10.0 <= chamfer[0],
            "{loss}: Chamfer {} → {} is not a 10× cut",
            chamfer[0],
            chamfer[1]
        );
        assert!(
            assd[1] * 3.0 <= assd[0] && hd90[1] < hd90[0],
            "{loss}: ASSD {assd:?}, HD90 {hd90:?}"
        );
        assert_eq!(
            column(5),
            vec![0.0, 0.0],
            "{loss}: the flow keeps the surface free of self-intersections"
        );
        assert_eq!(column(6), vec![0.0, 0.0], "{loss}: no flipped triangle");
    }
    let table = std::fs::read_to_string(run.join("comparison.csv")).unwrap();
    assert_eq!(table.lines().count(), 4, "{table}");
    // An update that blows the template up (lr 1e30, one step: the loss before it is finite)
    // is an error naming the loss and the step, not metrics of a NaN mesh.
    let o = run_config(
        dir.path(),
        "mesh_deform.toml",
        &[
            "fit.losses=[\"sw-vertices\"]",
            "shapes.template_subdivisions=1",
            "shapes.target_subdivisions=1",
            "field.width=8",
            "fit.steps=1",
            "fit.log_every=1",
            "fit.ode_steps=1",
            "fit.samples=64",
            "fit.lr=1e30",
            "fit.eval_points=100",
        ],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("sw-vertices") && e.contains("diverged"), "{e}");
    // A conditioning code in single-shape mode is a config error naming the field.
    let o = run_config(dir.path(), "mesh_deform.toml", &["field.code_dim=4"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("[field] code_dim = 4"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tiny_autoencoder_runs_train_with_sw_and_amortized_v_dsw() {
    for extra in [&[][..], &["loss.kind=v-dsw", "amortized.kind=eff_attn"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let mut sets = vec![
            "data.synthetic_clouds=40",
            "data.points=128",
            "data.held_out=4",
            "model.points=128",
            "train.epochs=8",
            "train.batch_size=6",
        ];
        sets.extend_from_slice(extra);
        let o = run_config(dir.path(), "synthetic_ae.toml", &sets);
        let run = finished_run(
            &o,
            &dir.path().join("runs/synthetic_ae"),
            &[
                "metrics.csv",
                "loss_vs_epoch.png",
                "reconstructions/0_input.ply",
                "reconstructions/0_output.ply",
                "reconstructions/0.png",
            ],
        );
        let mut reader = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
        let loss: Vec<f64> = reader
            .records()
            .map(|r| r.unwrap()[1].parse().unwrap())
            .collect();
        assert_eq!(loss.len(), 8);
        assert!(
            loss[7] < loss[0],
            "{extra:?}: training loss {loss:?} did not fall"
        );
    }
}

#[test]
fn resumed_training_is_bit_identical_to_an_uninterrupted_one() {
    let tiny = [
        "data.synthetic_clouds=24",
        "data.points=64",
        "data.held_out=4",
        "model.points=64",
        "train.batch_size=5",
        "train.checkpoint_every=1",
    ];
    let mut straight = tiny.to_vec();
    straight.push("train.epochs=4");
    let mut first_half = tiny.to_vec();
    first_half.push("train.epochs=2");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for extra in [&[][..], &["loss.kind=max-sw", "amortized.kind=attn"][..]] {
        let sa: Vec<&str> = straight.iter().chain(extra).copied().collect();
        let sb: Vec<&str> = first_half.iter().chain(extra).copied().collect();
        let _ = std::fs::remove_dir_all(a.path().join("runs"));
        let _ = std::fs::remove_dir_all(b.path().join("runs"));
        assert!(
            run_config(a.path(), "synthetic_ae.toml", &sa)
                .status
                .success()
        );
        assert!(
            run_config(b.path(), "synthetic_ae.toml", &sb)
                .status
                .success()
        );
        let run_a = only_run_dir(&a.path().join("runs/synthetic_ae"));
        let run_b = only_run_dir(&b.path().join("runs/synthetic_ae"));
        resume(&run_b, "train.epochs=4", b.path());
        assert_eq!(
            std::fs::read_to_string(run_b.join("checkpoints/LATEST")).unwrap(),
            "epoch-4"
        );
        // Burnpack files carry parameter ids, so the weights are compared through what they
        // compute: the final reconstructions (bit for bit) and every logged metric.
        for i in 0..4 {
            let f = format!("reconstructions/{i}_output.ply");
            assert!(
                std::fs::read(run_a.join(&f)).unwrap() == std::fs::read(run_b.join(&f)).unwrap(),
                "{f} differs ({extra:?})"
            );
        }
        let losses = |run: &Path| -> Vec<String> {
            let mut r = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
            r.records()
                .map(|x| {
                    let x = x.unwrap();
                    format!("{} {}", &x[1], &x[2])
                })
                .collect()
        };
        assert_eq!(losses(&run_a), losses(&run_b), "{extra:?}");
        assert_eq!(losses(&run_a).len(), 4);
    }
    let e = stderr(&experiments(
        &["--resume", a.path().to_str().unwrap()],
        a.path(),
    ));
    assert!(e.contains("config.toml"), "{e}");
}

#[test]
fn eval_ae_reports_the_table_for_a_trained_run() {
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        "data.synthetic_clouds=30",
        "data.points=64",
        "data.held_out=6",
        "model.points=64",
        "train.epochs=2",
        "train.batch_size=8",
    ];
    assert!(
        run_config(dir.path(), "synthetic_ae.toml", &sets)
            .status
            .success()
    );
    let run = only_run_dir(&dir.path().join("runs/synthetic_ae"));
    let o = experiments(
        &[
            "eval-ae",
            "--run",
            run.to_str().unwrap(),
            "--synthetic",
            "--subset",
            "10",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("best (lowest mean training loss, epoch")
            && out.contains("Chamfer")
            && out.contains("SW √(N·SW₂²), L = 100 per cloud")
            && out.contains("EMD approxmatch (paper's column)")
            && out.contains("EMD exact assignment (ours)")
            && out.contains("latent linear SVM (LinearSVC defaults, C = 1)"),
        "{out}"
    );
    let eval_dirs = || -> Vec<PathBuf> {
        let mut d: Vec<PathBuf> = std::fs::read_dir(run.join("eval"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        d.sort();
        d
    };
    let first = eval_dirs();
    assert_eq!(first.len(), 1, "{first:?}");
    let csv_path = first[0].join("eval.csv");
    assert!(first[0].join("pair0.png").exists());
    let first_csv = std::fs::read(&csv_path).unwrap();
    // A second evaluation (same second or not) writes its own folder; the first is untouched.
    let o = experiments(
        &[
            "eval-ae",
            "--run",
            run.to_str().unwrap(),
            "--synthetic",
            "--subset",
            "4",
            "--no-exact-emd",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(eval_dirs().len(), 2);
    assert_eq!(std::fs::read(&csv_path).unwrap(), first_csv);
    let e = stderr(&experiments(
        &[
            "eval-ae",
            "--run",
            run.to_str().unwrap(),
            "--synthetic",
            "--subset",
            "0",
        ],
        dir.path(),
    ));
    assert!(e.contains("--subset 0"), "{e}");
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let names: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        names,
        [
            "chamfer",
            "sw_sqrt_n_sw2sq_l100",
            "emd_approxmatch",
            "emd_exact",
            "linear_svm_accuracy"
        ]
    );
    for r in &rows {
        let v: f64 = r[1].parse().unwrap();
        assert!(v.is_finite() && v >= 0.0, "{r:?}");
        assert!(r[3].starts_with("best"), "{r:?}");
    }
    // approxmatch is an upper bound of the exact EMD.
    assert!(rows[2][1].parse::<f64>().unwrap() >= rows[3][1].parse::<f64>().unwrap() * 0.999);
    assert!(rows[4][1].parse::<f64>().unwrap() <= 1.0);
    assert!(run.join("checkpoints/best/model.bpk").exists());
    assert!(run.join("final_metrics.csv").exists());
    let e = stderr(&experiments(
        &[
            "eval-ae",
            "--run",
            dir.path().to_str().unwrap(),
            "--synthetic",
        ],
        dir.path(),
    ));
    assert!(e.contains("config.toml"), "{e}");
}

#[test]
fn ctrl_c_checkpoints_the_epoch_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = repo().join("configs/synthetic_ae.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_experiments"))
        .args(["--config", cfg.to_str().unwrap(), "--out", "runs"])
        .args([
            "--set",
            "data.synthetic_clouds=30",
            "--set",
            "data.points=64",
            "--set",
            "data.held_out=4",
        ])
        .args([
            "--set",
            "model.points=64",
            "--set",
            "train.epochs=100000",
            "--set",
            "train.batch_size=8",
            "--set",
            "train.checkpoint_every=1000",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first logged epoch, then interrupt.
    let metrics = wait_for_metrics(&dir.path().join("runs/synthetic_ae"), 2, 60);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = metrics.parent().unwrap().to_path_buf();
    let latest = std::fs::read_to_string(run.join("checkpoints/LATEST")).unwrap();
    let epochs_done = std::fs::read_to_string(&metrics).unwrap().lines().count() - 1;
    assert_eq!(
        latest,
        format!("epoch-{epochs_done}"),
        "the checkpoint is the last finished epoch"
    );
    resume(
        &run,
        &format!("train.epochs={}", epochs_done + 1),
        dir.path(),
    );
    assert_eq!(
        std::fs::read_to_string(run.join("checkpoints/LATEST")).unwrap(),
        format!("epoch-{}", epochs_done + 1)
    );
}

#[test]
fn tiny_sngan_trains_samples_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut sets = TINY_GAN.to_vec();
    sets.push("train.generator_steps=4");
    let o = run_config(dir.path(), "synthetic_sngan.toml", &sets);
    let run = finished_run(
        &o,
        &dir.path().join("runs/synthetic_sngan"),
        &[
            "losses.png",
            "samples/step-0000002.png",
            "samples/step-0000004.png",
            "log.txt",
        ],
    );
    let grid = image::open(run.join("samples/step-0000004.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (8 * 34 + 2, 8 * 34 + 2));
    let rows = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(rows.lines().count(), 5, "{rows}");
    for line in rows.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        assert!(
            v[1].is_finite() && v[1] >= 0.0 && v[2].is_finite() && v[2] > 0.0,
            "{line}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(run.join("checkpoints/LATEST")).unwrap(),
        "step-4"
    );
    // `sample`: N PNGs of the EMA generator; never into a non-empty folder.
    let out = dir.path().join("samples");
    let o = experiments(
        &[
            "sample",
            "--run",
            run.to_str().unwrap(),
            "--n",
            "5",
            "--batch",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "000000.png",
            "000001.png",
            "000002.png",
            "000003.png",
            "000004.png"
        ]
    );
    let img = image::open(out.join("000004.png")).unwrap();
    assert_eq!((img.width(), img.height()), (32, 32));
    let o = experiments(
        &[
            "sample",
            "--run",
            run.to_str().unwrap(),
            "--n",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(
        !o.status.success() && stderr(&o).contains("not empty"),
        "{}",
        stderr(&o)
    );
    // Missing CIFAR-10: the error names the expected files and the download command.
    let o = run_config(dir.path(), "cifar_sngan.toml", &["data.root=\"nowhere\""]);
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(
        e.contains("cifar-10-batches-bin") && e.contains("data_batch_1.bin"),
        "{e}"
    );
    assert!(e.contains("experiments download cifar10"), "{e}");
    // Generator and discriminator built for different sizes.
    let o = run_config(
        dir.path(),
        "synthetic_sngan.toml",
        &["generator.resolution=\"64\""],
    );
    assert!(stderr(&o).contains("differ"), "{}", stderr(&o));
}

/// Interrupts a tiny SNGAN run with SIGINT after its first steps, resumes it to `k + 3` steps,
/// and compares it with an uninterrupted run of `k + 3` steps: every logged loss and the final
/// EMA samples must be bit-identical.
#[test]
fn sngan_interrupted_and_resumed_equals_an_uninterrupted_run() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = repo().join("configs/synthetic_sngan.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_experiments"));
    child.args(["--config", cfg.to_str().unwrap(), "--out", "runs"]);
    for s in TINY_GAN.iter().chain(&[
        "train.generator_steps=100000",
        "train.checkpoint_every=1000",
    ]) {
        child.args(["--set", s]);
    }
    let child = child
        .current_dir(b.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = wait_for_metrics(&b.path().join("runs/synthetic_sngan"), 3, 120);
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_b = metrics.parent().unwrap().to_path_buf();
    let done = std::fs::read_to_string(&metrics).unwrap().lines().count() - 1;
    assert_eq!(
        std::fs::read_to_string(run_b.join("checkpoints/LATEST")).unwrap(),
        format!("step-{done}"),
        "the checkpoint is the last finished step"
    );
    let total = format!("train.generator_steps={}", done + 3);
    resume(&run_b, &total, b.path());
    let mut sets = TINY_GAN.to_vec();
    sets.extend(["train.checkpoint_every=1000", total.as_str()]);
    let o = run_config(a.path(), "synthetic_sngan.toml", &sets);
    assert!(o.status.success(), "{}", stderr(&o));
    let run_a = only_run_dir(&a.path().join("runs/synthetic_sngan"));
    let losses = |run: &Path| -> Vec<String> {
        let mut r = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
        r.records()
            .map(|x| {
                let x = x.unwrap();
                format!("{} {} {}", &x[0], &x[1], &x[2])
            })
            .collect()
    };
    assert_eq!(losses(&run_a), losses(&run_b));
    assert_eq!(losses(&run_a).len(), done + 3);
    let last = format!("samples/step-{:07}.png", done + 3);
    let (pa, pb) = (run_a.join(&last), run_b.join(&last));
    assert!(
        std::fs::read(&pa).unwrap() == std::fs::read(&pb).unwrap(),
        "{last} differs between the straight and the resumed run"
    );
}

/// Reference statistics for the stand-in scoring network (16 features) as an `.npz` in the
/// pytorch-fid / CV-SW `fid_stat` format (`mu`, `sigma`).
fn stand_in_stats(path: &Path) {
    let mut acc = models::inception::metrics::StatsAccumulator::new(16);
    let rows: Vec<f32> = (0..40 * 16)
        .map(|i| (0.5 + 0.4 * ((i as f64) * 0.73).sin()) as f32)
        .collect();
    acc.add(&rows);
    acc.finish().unwrap().to_npz(path).unwrap();
}

/// The rows of eval.csv as (step, "fid,is_mean,is_std").
fn eval_rows(run: &Path) -> Vec<(usize, String)> {
    let mut r = csv::Reader::from_path(run.join("eval.csv")).unwrap();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            (
                x[0].parse().unwrap(),
                format!("{},{},{}", &x[2], &x[3], &x[4]),
            )
        })
        .collect()
}

/// `[eval] every = 2` on a tiny run: eval.csv rows at steps 2, 4, … and the last, fid.png, a
/// `best/` checkpoint of the lowest FID; a run killed after logging step 6 (rows written, no
/// checkpoint) and resumed from step 5 drops those rows and continues on the same schedule with
/// the same scores as an uninterrupted run.
#[test]
fn sngan_scores_every_k_steps_keeps_the_best_and_resumes_on_schedule() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [a.path(), b.path()] {
        stand_in_stats(&dir.join("stats.npz"));
    }
    let mut sets = TINY_GAN.to_vec();
    sets.extend([
        "eval.every=2",
        "eval.samples=20",
        "eval.batch=8",
        "eval.inception=\"stand-in\"",
        "eval.stats=\"stats.npz\"",
    ]);
    // Uninterrupted: 7 steps.
    let mut sets_a = sets.clone();
    sets_a.push("train.generator_steps=7");
    let o = run_config(a.path(), "synthetic_sngan.toml", &sets_a);
    assert!(o.status.success(), "{}", stderr(&o));
    let run_a = only_run_dir(&a.path().join("runs/synthetic_sngan"));
    let rows_a = eval_rows(&run_a);
    assert_eq!(
        rows_a.iter().map(|r| r.0).collect::<Vec<_>>(),
        [2, 4, 6, 7],
        "{rows_a:?}"
    );
    for (_, v) in &rows_a {
        let v: Vec<f64> = v.split(',').map(|x| x.parse().unwrap()).collect();
        assert!(
            v[0].is_finite() && v[0] >= 0.0 && v[1] >= 1.0 && v[2] >= 0.0,
            "{v:?}"
        );
    }
    assert!(run_a.join("fid.png").is_file());
    let best_state = std::fs::read_to_string(run_a.join("best/state")).unwrap();
    let best_step: usize = best_state.lines().next().unwrap().parse().unwrap();
    let lowest = rows_a
        .iter()
        .min_by(|x, y| {
            let f = |r: &(usize, String)| r.1.split(',').next().unwrap().parse::<f64>().unwrap();
            f(x).total_cmp(&f(y))
        })
        .unwrap();
    assert_eq!(best_step, lowest.0, "{best_state} vs {rows_a:?}");
    assert!(run_a.join("best/ema_generator.bpk").is_file());

    // Interrupted: 5 steps (checkpoint at 5), then rows of a step 6 that was logged and scored
    // but never checkpointed (what kill -9 leaves), then resumed to 7.
    let mut sets_b = sets.clone();
    sets_b.push("train.generator_steps=5");
    let o = run_config(b.path(), "synthetic_sngan.toml", &sets_b);
    assert!(o.status.success(), "{}", stderr(&o));
    let run_b = only_run_dir(&b.path().join("runs/synthetic_sngan"));
    assert_eq!(
        eval_rows(&run_b).iter().map(|r| r.0).collect::<Vec<_>>(),
        [2, 4, 5]
    );
    for (file, row) in [
        ("metrics.csv", "6,1,1,1,1\n"),
        ("eval.csv", "6,20,0.5,1,0,x\n"),
    ] {
        let mut text = std::fs::read_to_string(run_b.join(file)).unwrap();
        text.push_str(row);
        std::fs::write(run_b.join(file), text).unwrap();
    }
    resume(&run_b, "train.generator_steps=7", b.path());
    let rows_b = eval_rows(&run_b);
    assert_eq!(
        rows_b.iter().map(|r| r.0).collect::<Vec<_>>(),
        [2, 4, 5, 6, 7],
        "{rows_b:?}"
    );
    for step in [2, 4, 6, 7] {
        let find = |rows: &[(usize, String)]| rows.iter().find(|r| r.0 == step).unwrap().1.clone();
        assert_eq!(find(&rows_a), find(&rows_b), "step {step}");
    }
    let steps: Vec<usize> = std::fs::read_to_string(run_b.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, [1, 2, 3, 4, 5, 6, 7], "each step once");

    // Bad input: too few images for the IS splits, a bottom_width that misses the resolution.
    let eval_gan = |n: &str| {
        experiments(
            &[
                "eval-gan",
                "--run",
                run_a.to_str().unwrap(),
                "--inception",
                "stand-in",
                "--stats",
                "stats.npz",
                "--n",
                n,
            ],
            a.path(),
        )
    };
    let o = eval_gan("9");
    assert!(
        !o.status.success() && stderr(&o).contains("--n must be at least 10"),
        "{}",
        stderr(&o)
    );
    let o = eval_gan("10");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(eval_rows(&run_a).last().unwrap().0, 7);
    let o = run_config(
        a.path(),
        "synthetic_sngan.toml",
        &["generator.bottom_width=8"],
    );
    let e = stderr(&o);
    assert!(
        !o.status.success()
            && e.contains("synthetic_sngan.toml")
            && e.contains("[generator] bottom_width"),
        "{e}"
    );
}

#[test]
fn mesh_dataset_mode_beats_the_template_on_held_out_targets() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(
        dir.path(),
        "mesh_deform_dataset.toml",
        &[
            "shapes.targets=12",
            "shapes.test=3",
            "shapes.template_subdivisions=2",
            "shapes.target_subdivisions=2",
            "shapes.points=256",
            "shapes.eval_points=3000",
            "train.losses=[\"sw-surface\"]",
            "train.batch=4",
            "train.steps=30",
            "train.log_every=15",
        ],
    );
    let run = finished_run(&o, &dir.path().join("runs/mesh_deform_dataset"), &[]);
    let mut r = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
    // Columns: loss, step, train_loss, train_chamfer, test_chamfer, seconds.
    let rows: Vec<Vec<f64>> = r
        .records()
        .map(|x| {
            x.unwrap()
                .iter()
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3);
    let (first, last) = (&rows[0], &rows[2]);
    // The untrained flow is close to the identity; training must pull the template towards
    // unseen targets too.
    assert!(
        last[2] < 0.8 * first[2],
        "train Chamfer {} → {}",
        first[2],
        last[2]
    );
    assert!(
        last[3] < 0.8 * first[3],
        "held-out Chamfer {} → {}",
        first[3],
        last[3]
    );
    // The comparison table: the undeformed template, then the loss, with the full metric set
    // (loss, chamfer, assd, hd90, sif_percent, flipped, normal_consistency, seconds); after 30
    // steps the fit beats the template on held-out Chamfer (ASSD need not follow yet: the
    // squared distances fall first).
    let mut t = csv::Reader::from_path(run.join("comparison.csv")).unwrap();
    let table: Vec<csv::StringRecord> = t.records().map(|x| x.unwrap()).collect();
    assert_eq!(
        table.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(),
        ["template", "sw-surface"]
    );
    let num = |row: usize, k: usize| -> f64 { table[row][k].parse().unwrap() };
    assert!(num(1, 1) < num(0, 1), "{table:?}");
    assert!((1..8).all(|k| num(1, k).is_finite()), "{table:?}");
    let held = std::fs::read_to_string(run.join("held_out.csv")).unwrap();
    assert_eq!(held.lines().count(), 1 + 3);
    for f in [
        "meshes/sw-surface_test0_deformed.obj",
        "meshes/test0_target.obj",
        "renders/sw-surface_test0_mesh.png",
        "chamfer_vs_step.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let o = run_config(
        dir.path(),
        "mesh_deform_dataset.toml",
        &["train.losses=[\"emd\"]"],
    );
    assert!(
        stderr(&o).contains("[train] losses: `emd`"),
        "{}",
        stderr(&o)
    );
}

/// Every experiment runs end to end with `--device wgpu` (lavapipe in CI), tiny sizes. The
/// numerical agreement of the two backends is checked in sw-loss's wgpu tests on shared inputs;
/// here the runs must finish, write their outputs, and (flow) bring the clouds closer.
#[cfg(feature = "wgpu")]
#[test]
fn every_experiment_runs_on_wgpu() {
    let shapenet = format!(
        "data.file=\"{}\"",
        repo()
            .join("datasets/data/shapenetcore55_random50.npy")
            .display()
    );
    let cases: [(&str, &str, Vec<&str>); 6] = [
        (
            "gradient_flow_synthetic.toml",
            "gradient_flow_synthetic",
            TINY_FLOW
                .iter()
                .copied()
                .filter(|s| *s != "--set")
                .collect(),
        ),
        (
            "variance.toml",
            "variance",
            vec![
                "study.projections=[5]",
                "study.repetitions=5",
                "study.reference_directions=2000",
                shapenet.as_str(),
                "study.gaussian_points=128",
            ],
        ),
        (
            "mesh_deform.toml",
            "mesh_deform",
            vec![
                "fit.losses=[\"sw-surface\"]",
                "shapes.template_subdivisions=1",
                "shapes.target_subdivisions=2",
                "field.width=16",
                "fit.steps=5",
                "fit.log_every=5",
                "fit.ode_steps=1",
                "fit.samples=256",
                "fit.eval_points=500",
            ],
        ),
        (
            "mesh_deform_dataset.toml",
            "mesh_deform_dataset",
            vec![
                "shapes.targets=6",
                "shapes.test=2",
                "shapes.template_subdivisions=1",
                "shapes.target_subdivisions=1",
                "shapes.points=128",
                "train.batch=2",
                "train.steps=2",
                "train.log_every=2",
                "model.width=16",
                "train.ode_steps=1",
                "train.losses=[\"sw-surface\"]",
                "shapes.eval_points=500",
            ],
        ),
        (
            "synthetic_ae.toml",
            "synthetic_ae",
            vec![
                "data.synthetic_clouds=12",
                "data.points=64",
                "data.held_out=2",
                "model.points=64",
                "train.epochs=1",
                "train.batch_size=5",
            ],
        ),
        ("synthetic_sngan.toml", "synthetic_sngan", {
            let mut v = TINY_GAN.to_vec();
            v.extend([
                "train.generator_steps=1",
                "data.synthetic_images=16",
                "train.n_critic=1",
            ]);
            v
        }),
    ];
    for (config, name, mut sets) in cases {
        let dir = tempfile::tempdir().unwrap();
        let device = ["--device", "wgpu"];
        let cfg = repo().join("configs").join(config);
        let mut args = vec!["--config", cfg.to_str().unwrap(), "--out", "runs"];
        args.extend(device);
        let owned: Vec<String> = sets
            .drain(..)
            .flat_map(|s| ["--set".to_string(), s.to_string()])
            .collect();
        args.extend(owned.iter().map(String::as_str));
        let o = experiments(&args, dir.path());
        assert!(o.status.success(), "{config} on wgpu: {}", stderr(&o));
        let run = only_run_dir(&dir.path().join("runs").join(name));
        assert!(
            run.join("metrics.csv").is_file(),
            "{config}: no metrics.csv"
        );
        assert!(
            std::fs::read_to_string(run.join("config.toml"))
                .unwrap()
                .contains("experiment")
        );
        if name == "gradient_flow_synthetic" {
            let rows = w2_column(&run);
            let (first, last) = (rows.first().unwrap().2, rows.last().unwrap().2);
            assert!(last < first, "W2² {first} → {last} on wgpu");
        }
    }
}

#[test]
fn tiny_shape_correspondence_writes_the_four_variant_table() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(
        dir.path(),
        "shape_corr_synthetic.toml",
        &[
            "data.synthetic_shapes=4",
            "data.synthetic_subdivision=1",
            "data.train=[0, 2]",
            "data.test=[2, 4]",
            "model.num_evecs=10",
            "model.k_eig=10",
            "model.hidden_channels=8",
            "model.out_channels=8",
            "model.blocks=1",
            "train.epochs=1",
            "train.pairs_per_epoch=2",
            "train.sw_projections=10",
            "refine.iterations=1",
            "eval.max_pairs=2",
        ],
    );
    let run = finished_run(&o, &dir.path().join("runs/shape_corr_synthetic"), &[]);
    let table = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{table}");
    for (row, want) in rows
        .iter()
        .zip(["no-sw,off", "no-sw,on", "sw,off", "sw,on"])
    {
        assert!(row.starts_with(want), "{row}");
        let err: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(err.is_finite() && err >= 0.0, "{row}");
    }
    assert!(run.join("pck.png").exists());
    let plys = std::fs::read_dir(run.join("meshes")).unwrap().count();
    assert_eq!(plys, 8);
    // a bad variant name is refused, naming the file and key
    let o = run_config(
        dir.path(),
        "shape_corr_synthetic.toml",
        &["train.variants=[\"ot\"]"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("[train] variants"), "{}", stderr(&o));
}
