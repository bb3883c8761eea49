//! Helpers shared by the end-to-end test files: run the binary, find its run folder, wait
//! for progress.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("..")
}

/// `--device D` when `SWBURN_TEST_DEVICE=D` is set (scripts/test_tch.sh runs the SNGAN tests on
/// `tch` this way) and the arguments name no device; nothing otherwise.
pub fn device_args(args: &[&str]) -> Vec<String> {
    match std::env::var("SWBURN_TEST_DEVICE") {
        // Subcommands (`sample`, `eval-gan`, `list`, …) take no --device.
        Ok(d)
            if !d.is_empty()
                && !args.contains(&"--device")
                && args.first().is_none_or(|a| a.starts_with("--")) =>
        {
            vec!["--device".into(), d]
        }
        _ => Vec::new(),
    }
}

pub fn experiments(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_experiments"))
        .args(args)
        .args(device_args(args))
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `experiments --resume RUN --set SET` in `cwd`; asserts it succeeded.
pub fn resume(run: &Path, set: &str, cwd: &Path) {
    let o = experiments(&["--resume", run.to_str().unwrap(), "--set", set], cwd);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Asserts the command succeeded, returns its only run folder under `root` and asserts each
/// of `files` exists in it.
pub fn finished_run(o: &Output, root: &Path, files: &[&str]) -> PathBuf {
    assert!(o.status.success(), "{}", stderr(o));
    let run = only_run_dir(root);
    for f in files {
        assert!(run.join(f).is_file(), "missing {f} in {}", run.display());
    }
    run
}

pub fn only_run_dir(root: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// Runs `configs/<config>` into `<dir>/runs` with `--set` overrides; returns the output.
pub fn run_config(dir: &Path, config: &str, sets: &[&str]) -> Output {
    let cfg = repo().join("configs").join(config);
    let mut args = vec![
        "--config".to_string(),
        cfg.to_string_lossy().into_owned(),
        "--out".into(),
        "runs".into(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    experiments(&refs, dir)
}

/// Waits (up to `limit_s`) until the only run folder under `root` has a metrics.csv of at least
/// `lines` lines; returns that file.
pub fn wait_for_metrics(root: &Path, lines: usize, limit_s: u64) -> PathBuf {
    let start = std::time::Instant::now();
    loop {
        let found = std::fs::read_dir(root)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path().join("metrics.csv"));
        if let Some(m) = found.filter(|m| {
            std::fs::read_to_string(m)
                .map(|t| t.lines().count() >= lines)
                .unwrap_or(false)
        }) {
            return m;
        }
        assert!(
            start.elapsed().as_secs() < limit_s,
            "no progress logged in {limit_s} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub const TINY_GAN: [&str; 8] = [
    "generator.channels=8",
    "discriminator.channels=8",
    "generator.latent=16",
    "data.synthetic_images=64",
    "train.batch_size=8",
    "train.log_every=1",
    "train.sample_every=2",
    "train.checkpoint_every=2",
];

/// The W₂² column of a flow's metrics.csv, by estimator.
pub fn w2_column(run: &Path) -> Vec<(String, usize, f64)> {
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

pub const TINY_FLOW: [&str; 8] = [
    "--set",
    "flow.steps=60",
    "--set",
    "flow.log_steps=[1,30,60]",
    "--set",
    "data.points=256",
    "--set",
    "flow.lr=0.02",
];

/// Starts a tiny SNGAN run of 100 000 steps (to be interrupted) in `dir/runs`.
pub fn spawn_long_gan(dir: &Path) -> std::process::Child {
    let cfg = repo().join("configs/synthetic_sngan.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_experiments"));
    cmd.args(["--config", cfg.to_str().unwrap(), "--out", "runs"]);
    for s in TINY_GAN.iter().chain(&[
        "train.generator_steps=100000",
        "train.checkpoint_every=1000",
    ]) {
        cmd.args(["--set", s]);
    }
    cmd.args(device_args(&[]));
    cmd.current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `sig` (e.g. `-TERM`) to the child.
pub fn signal(child: &std::process::Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

/// Starts [`spawn_long_gan`] in `dir`, sends `sig` once two steps are logged, asserts the
/// process exited 0, and returns its run folder and the number of steps it logged.
pub fn interrupt_long_gan(dir: &Path, sig: &str) -> (PathBuf, usize) {
    let child = spawn_long_gan(dir);
    let metrics = wait_for_metrics(&dir.join("runs/synthetic_sngan"), 3, 120);
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = metrics.parent().unwrap().to_path_buf();
    let done = std::fs::read_to_string(&metrics).unwrap().lines().count() - 1;
    (run, done)
}
