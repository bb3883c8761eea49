//! End-to-end tests of the binary itself: config errors naming file and key, `list`, run folders
//! never overwritten, `download` refusals. One file per experiment beside this one.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Writes `text` to `<dir>/bad.toml`, runs it (it must fail) and returns stderr.
fn config_error(dir: &Path, text: &str) -> String {
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let o = experiments(&["--config", bad.to_str().unwrap()], dir);
    assert!(!o.status.success(), "{text:?} ran");
    stderr(&o)
}

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
    for name in experiments::registry::EXPERIMENTS.iter().map(|e| e.name) {
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
        // Every config's experiment is registered, and its check (typed parse + validation)
        // passes: the registry is the one list (adding an experiment touches it only).
        let loaded = experiments::config::load(&path, &[]).unwrap();
        let experiment = experiments::registry::find(&loaded.experiment)
            .unwrap_or_else(|| panic!("{name}: unknown experiment {}", loaded.experiment));
        (experiment.check)(&loaded).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        count += 1;
    }
    assert!(count >= 9);
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
