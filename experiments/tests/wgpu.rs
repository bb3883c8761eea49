//! Every experiment end to end on `--device wgpu`.

mod common;

use common::*;

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
