//! End-to-end test of shape correspondence (EOT-Correspondence).

mod common;

use common::*;

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
