//! End-to-end tests of SNGAN (CV-SW): training, sampling, resume, periodic scoring.

mod common;

use std::path::Path;

use common::*;

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
    let (run_b, done) = interrupt_long_gan(b.path(), "-INT");
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
