//! End-to-end tests of the mesh experiments (DDOT): single-shape fits and the dataset mode.

mod common;

use common::*;

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
