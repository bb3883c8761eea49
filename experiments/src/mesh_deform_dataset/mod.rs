//! The DDOT dataset mode (`experiment = "mesh_deform_dataset"`): one PointNet-conditioned
//! velocity field deforms the template towards many targets, trained once per loss and scored
//! on held-out targets ([`config`] → [`run`]); the targets, the losses and the comparison table
//! are [`crate::mesh_deform`]'s.

pub mod config;
pub mod run;

pub use config::MeshDatasetConfig;

/// The `mesh_deform_dataset` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "mesh_deform_dataset",
    check: |loaded| {
        let cfg: MeshDatasetConfig = loaded.parse()?;
        run::validate(&cfg, &loaded.path.display().to_string())
    },
    run: |loaded, cli, _| run::run(loaded, cli),
    resumable: false,
};
