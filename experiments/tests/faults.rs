//! Faults during training, end to end through the binary: a damaged latest checkpoint, a write
//! that fails while checkpointing (a real size limit, `ulimit -f`), SIGTERM, two processes on
//! one run folder, and a loss that diverges mid-run. Each test compares the run folder's files
//! before and after: nothing the user had is overwritten or lost.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Every file under `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `files` without `run.lock` (its content is the pid of whoever last held the folder).
fn user_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut f = files(dir);
    f.remove(Path::new("run.lock"));
    f
}

/// The (step, D loss, G loss) columns of an SNGAN metrics.csv.
fn losses(run: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(run.join("metrics.csv")).unwrap();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            format!("{} {} {}", &x[0], &x[1], &x[2])
        })
        .collect()
}

fn tiny_gan(dir: &Path, extra: &[&str]) -> PathBuf {
    let mut sets = TINY_GAN.to_vec();
    sets.extend(extra);
    let o = run_config(dir, "synthetic_sngan.toml", &sets);
    assert!(o.status.success(), "{}", stderr(&o));
    only_run_dir(&dir.join("runs/synthetic_sngan"))
}

fn latest(run: &Path) -> String {
    std::fs::read_to_string(run.join("checkpoints/LATEST")).unwrap()
}

/// A bit flip in the latest checkpoint: `--resume` refuses, naming the file and offering the
/// previous checkpoint, and changes nothing; `--from-checkpoint step-4` continues from it and
/// ends bit-identical (losses, last sample grid) to an uninterrupted run; the damaged
/// checkpoint is set aside, not deleted.
#[test]
fn resume_after_a_damaged_latest_checkpoint_continues_from_the_previous_good_one() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run_a = tiny_gan(a.path(), &["train.generator_steps=8"]);
    let run_b = tiny_gan(b.path(), &["train.generator_steps=6"]);
    assert_eq!(latest(&run_b), "step-6");
    assert!(run_b.join("checkpoints/step-4/MANIFEST").is_file());
    let damaged = run_b.join("checkpoints/step-6/generator.bpk");
    let mut bytes = std::fs::read(&damaged).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x04;
    std::fs::write(&damaged, &bytes).unwrap();
    let before = user_files(&run_b);

    let o = experiments(
        &[
            "--resume",
            run_b.to_str().unwrap(),
            "--set",
            "train.generator_steps=8",
        ],
        b.path(),
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("checkpoint step-6 is damaged"), "{e}");
    assert!(e.contains("generator.bpk") && e.contains("SHA-256"), "{e}");
    assert!(e.contains("--from-checkpoint step-4"), "{e}");
    assert_eq!(
        user_files(&run_b),
        before,
        "a refused resume changes nothing"
    );

    // keep_checkpoints = 10: step-4 itself stays, so the comparison below sees every file.
    let o = experiments(
        &[
            "--resume",
            run_b.to_str().unwrap(),
            "--from-checkpoint",
            "step-4",
            "--set",
            "train.generator_steps=8",
            "--set",
            "train.keep_checkpoints=10",
        ],
        b.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(losses(&run_a), losses(&run_b));
    assert_eq!(losses(&run_b).len(), 8);
    let last = "samples/step-0000008.png";
    assert!(
        std::fs::read(run_a.join(last)).unwrap() == std::fs::read(run_b.join(last)).unwrap(),
        "{last} differs between the straight and the resumed run"
    );
    assert_eq!(latest(&run_b), "step-8");

    // Nothing lost: the damaged step-6 lies, byte for byte, in its set-aside folder; every
    // other file is unchanged, except the ones a resume appends to or re-derives.
    let after = user_files(&run_b);
    let aside: Vec<&PathBuf> = after
        .keys()
        .filter(|p| {
            p.to_string_lossy()
                .contains("checkpoints/step-6.set-aside-")
        })
        .collect();
    assert!(!aside.is_empty(), "{:?}", after.keys().collect::<Vec<_>>());
    for (path, bytes) in &before {
        let s = path.to_string_lossy();
        if let Some(file) = s.strip_prefix("checkpoints/step-6/") {
            let moved = aside
                .iter()
                .find(|p| p.to_string_lossy().ends_with(&format!("/{file}")))
                .unwrap_or_else(|| panic!("{s} was not kept"));
            assert_eq!(&after[*moved], bytes, "{s}");
        } else if s == "log.txt" || s == "metrics.csv" {
            assert!(
                after[path].starts_with(&bytes[..bytes.len().min(40)]),
                "{s}"
            );
        } else if s == "checkpoints/LATEST" || s == "losses.png" {
            // LATEST names step-8 now; the loss plot is redrawn from the longer metrics.csv.
        } else {
            assert_eq!(after.get(path), Some(bytes), "{s} changed");
        }
    }
    let log = String::from_utf8_lossy(&after[Path::new("log.txt")]).into_owned();
    assert!(
        log.contains("set aside the later checkpoints step-6"),
        "{log}"
    );
}

/// The checkpoint write of step 6 runs into a real file-size limit (`ulimit -f`, SIGXFSZ
/// ignored so the write fails with EFBIG): the run exits with an error naming the checkpoint
/// and the intact step-4; no half-written folder remains; step-4's files are unchanged and a
/// later resume continues from it.
#[test]
fn a_failed_checkpoint_write_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // 32 channels: model and optimizer files (≈1 MB) larger than the sample grid (≈200 KB).
    let run = tiny_gan(
        dir.path(),
        &[
            "train.generator_steps=4",
            "train.sample_every=1000",
            "generator.channels=32",
            "discriminator.channels=32",
        ],
    );
    let ckpt = files(&run.join("checkpoints/step-4"));
    let largest = ckpt.values().map(Vec::len).max().unwrap();
    let others = files(&run)
        .iter()
        .filter(|(p, _)| !p.starts_with("checkpoints"))
        .map(|(_, b)| b.len())
        .max()
        .unwrap();
    // A limit below the largest checkpoint file but above every other file the run writes.
    let limit_kib = largest / 1024 - 1;
    assert!(
        others + 8192 < limit_kib * 1024,
        "the test needs checkpoint files larger than the other outputs: {largest} vs {others}"
    );
    let before = user_files(&run);
    let script = format!(
        "trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" --resume \"$1\" --set train.generator_steps=6 --set train.sample_every=1000"
    );
    let o = Command::new("bash")
        .args([
            "-c",
            &script,
            env!("CARGO_BIN_EXE_experiments"),
            run.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("writing checkpoint step-6 failed"), "{e}");
    assert!(e.contains("File too large"), "{e}");
    assert!(
        e.contains("the last good checkpoint step-4 is intact"),
        "{e}"
    );
    assert!(!run.join("checkpoints/step-6.tmp").exists());
    assert!(!run.join("checkpoints/step-6").exists());
    assert_eq!(latest(&run), "step-4");
    let after = user_files(&run);
    for (path, bytes) in &before {
        let s = path.to_string_lossy();
        if s == "log.txt" || s == "metrics.csv" {
            assert!(
                after[path].starts_with(bytes),
                "{s}: appended to, not rewritten"
            );
        } else {
            assert_eq!(after.get(path), Some(bytes), "{s} changed");
        }
    }
    resume(&run, "train.generator_steps=6", dir.path());
    assert_eq!(latest(&run), "step-6");
    assert_eq!(losses(&run).len(), 6);
}

/// SIGTERM (what a scheduler or `kill` sends) is handled like Ctrl-C: the step finishes, a
/// checkpoint of it is written, the process exits 0.
#[test]
fn sigterm_checkpoints_the_finished_step_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (run, done) = interrupt_long_gan(dir.path(), "-TERM");
    assert_eq!(latest(&run), format!("step-{done}"));
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(
        log.contains(&format!(
            "interrupted after step {done}; checkpoint written"
        )),
        "{log}"
    );
}

/// A second process on a run folder in use is refused with the holder's pid, and nothing of
/// the folder's checkpoints changes; once the first has stopped, the resume works.
#[test]
fn a_second_run_on_a_busy_run_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_long_gan(dir.path());
    let metrics = wait_for_metrics(&dir.path().join("runs/synthetic_sngan"), 2, 120);
    let run = metrics.parent().unwrap().to_path_buf();
    let config_before = std::fs::read(run.join("config.toml")).unwrap();
    let o = experiments(&["--resume", run.to_str().unwrap()], dir.path());
    let e = stderr(&o);
    let holder = child.id();
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!o.status.success());
    assert!(e.contains("is in use by another run"), "{e}");
    assert!(e.contains(&format!("pid {holder}")), "{e}");
    assert!(e.contains("run.lock"), "{e}");
    assert_eq!(
        std::fs::read(run.join("config.toml")).unwrap(),
        config_before
    );
    let done = std::fs::read_to_string(&metrics).unwrap().lines().count() - 1;
    assert_eq!(latest(&run), format!("step-{done}"));
    resume(
        &run,
        &format!("train.generator_steps={}", done + 1),
        dir.path(),
    );
    assert_eq!(latest(&run), format!("step-{}", done + 1));
}

/// A generator learning rate of 1e30 blows the weights up after the first step: the run stops
/// at the first non-finite loss of step 2, names it, names step-1 as the last good checkpoint,
/// and does not write a checkpoint of the diverged step.
#[test]
fn a_diverging_gan_stops_at_the_step_and_names_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut sets = TINY_GAN.to_vec();
    sets.extend([
        "train.generator_steps=6",
        "train.checkpoint_every=1",
        "train.lr_generator=1e30",
    ]);
    let o = run_config(dir.path(), "synthetic_sngan.toml", &sets);
    assert!(!o.status.success());
    let e = stderr(&o);
    let run = only_run_dir(&dir.path().join("runs/synthetic_sngan"));
    assert!(e.contains("training stopped at generator step 2"), "{e}");
    assert!(
        e.contains("loss is NaN") || e.contains("loss is inf"),
        "{e}"
    );
    assert!(e.contains("the last good checkpoint is step-1"), "{e}");
    assert!(
        e.contains("experiments --resume runs/synthetic_sngan/"),
        "{e}"
    );
    assert_eq!(latest(&run), "step-1");
    assert!(!run.join("checkpoints/step-2").exists());
}

/// An SGD learning rate of 1e38 makes the autoencoder's weights overflow in its first update:
/// the run stops at batch 2 of epoch 1, before any checkpoint (no "latest", no "best" of NaN
/// weights).
#[test]
fn a_diverging_autoencoder_stops_before_saving_nan_weights() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(
        dir.path(),
        "synthetic_ae.toml",
        &[
            "train.epochs=2",
            "train.lr=1e38",
            "data.synthetic_clouds=24",
            "data.held_out=4",
            "train.batch_size=4",
        ],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("training stopped at epoch 1, batch 2"), "{e}");
    assert!(
        e.contains("non-finite") || e.contains("NaN") || e.contains("inf"),
        "{e}"
    );
    assert!(e.contains("no checkpoint was written yet"), "{e}");
    let run = only_run_dir(&dir.path().join("runs/synthetic_ae"));
    assert!(!run.join("checkpoints/LATEST").exists());
    assert!(!run.join("checkpoints/best").exists());
}
