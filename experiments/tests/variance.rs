//! End-to-end test of the variance study (CV-SW).

mod common;

use common::*;

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
