//! End-to-end test of shape correspondence (EOT-Correspondence).

mod common;

use common::*;

/// The tiny problem: 4 shapes of 42 vertices, an 8-channel one-block network.
const TINY: [&str; 14] = [
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
];

#[test]
fn tiny_shape_correspondence_writes_the_four_variant_table() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_config(dir.path(), "shape_corr_synthetic.toml", &TINY);
    let run = finished_run(&o, &dir.path().join("runs/shape_corr_synthetic"), &[]);
    let table = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let rows: Vec<&str> = table.lines().skip(1).collect();
    // 2 iterations, val_freq 36: no validation, so only the latest weights are evaluated
    assert_eq!(rows.len(), 4, "{table}");
    for (row, want) in rows.iter().zip([
        "no-sw,latest,off,2,",
        "no-sw,latest,test.py,2,",
        "sw,latest,off,2,",
        "sw,latest,test.py,2,",
    ]) {
        assert!(row.starts_with(want), "{row}");
        let err: f64 = row.split(',').nth(4).unwrap().parse().unwrap();
        assert!(err.is_finite() && err >= 0.0, "{row}");
    }
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(
        log.contains("no-sw: no validation ran (val_freq 36 over 2 iterations)"),
        "{log}"
    );
    assert!(!run.join("checkpoints/best").exists());
    for v in ["no-sw", "sw"] {
        assert!(
            run.join(format!("checkpoints/latest/{v}/model.bpk"))
                .exists()
        );
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

/// Model selection as the official train.py: validation every `val_freq` iterations on the test
/// pairs; the best weights are the first validation with the lowest error, kept in
/// `checkpoints/best/<variant>/`, and evaluated beside the latest. Checked against the logged
/// validation errors: the best row's unrefined error is their minimum (validation and the
/// unrefined evaluation are the same measurement), at the iteration of the first minimum, and the
/// latest row's is the last validation's (6 iterations, validations at 2, 4, 6).
#[test]
fn validation_keeps_the_best_weights_and_both_are_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let mut sets = TINY.to_vec();
    sets.extend([
        "train.epochs=2",
        "train.pairs_per_epoch=3",
        "train.val_freq=2",
    ]);
    let o = run_config(dir.path(), "shape_corr_synthetic.toml", &sets);
    let run = finished_run(&o, &dir.path().join("runs/shape_corr_synthetic"), &[]);
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    let table = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let row = |variant: &str, weights: &str, refinement: &str| -> (usize, f64) {
        let prefix = format!("{variant},{weights},{refinement},");
        let line = table
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no row {prefix} in\n{table}"));
        let cells: Vec<&str> = line.split(',').collect();
        (cells[3].parse().unwrap(), cells[4].parse().unwrap())
    };
    for variant in ["no-sw", "sw"] {
        let marker = format!("] {variant} validation at iteration ");
        let validations: Vec<(usize, f64)> = log
            .lines()
            .filter_map(|l| l.split_once(&marker))
            .map(|(_, rest)| {
                let (it, rest) = rest.split_once(": mean geodesic error ").unwrap();
                let err = rest.split_whitespace().next().unwrap();
                (it.parse().unwrap(), err.parse().unwrap())
            })
            .collect();
        assert_eq!(
            validations.iter().map(|v| v.0).collect::<Vec<_>>(),
            [2, 4, 6],
            "{log}"
        );
        let mut first_min = validations[0];
        for &v in &validations[1..] {
            if v.1 < first_min.1 {
                first_min = v;
            }
        }
        let (best_it, best_err) = row(variant, "best", "off");
        assert_eq!(best_it, first_min.0, "{variant}: {validations:?}\n{table}");
        assert!(
            (best_err - first_min.1).abs() < 2e-6,
            "{variant}: {best_err} vs {first_min:?}"
        );
        let (latest_it, latest_err) = row(variant, "latest", "off");
        assert_eq!(latest_it, 6);
        assert!(
            (latest_err - validations[2].1).abs() < 2e-6,
            "{variant}: {latest_err}"
        );
        // both weights are also refined
        row(variant, "best", "test.py");
        row(variant, "latest", "test.py");
        let best = run.join(format!("checkpoints/best/{variant}"));
        assert!(best.join("model.bpk").exists() && best.join("MANIFEST").exists());
        let kept: f64 = std::fs::read_to_string(best.join("val_error"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            (kept - first_min.1).abs() < 2e-6,
            "{variant}: val_error {kept}"
        );
        let state = std::fs::read_to_string(best.join("state")).unwrap();
        assert_eq!(
            state.lines().next(),
            Some(first_min.0.to_string().as_str()),
            "{state}"
        );
    }
}
