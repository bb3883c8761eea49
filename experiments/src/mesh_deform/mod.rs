//! The DDOT mesh experiments: a neural-ODE velocity field deforms a template icosphere into
//! target surfaces, trained with SW between meshes as measures or with Chamfer (CortexODE's
//! loss), compared in one table of CortexODE's metrics.
//!
//! - single shape (`experiment = "mesh_deform"`): [`config`] → [`train`];
//! - dataset mode (`experiment = "mesh_deform_dataset"`): [`crate::mesh_deform_dataset`], which
//!   uses the targets, losses and table here;
//! - shared: [`targets`] (synthetic and file targets, scoring), [`losses`] (the four training
//!   losses, both meshes resampled every step), [`eval`] (the comparison table).

pub mod config;
pub mod eval;
pub mod losses;
pub mod targets;
pub mod train;

pub use config::MeshDeformConfig;

/// The `mesh_deform` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "mesh_deform",
    check: |loaded| {
        let cfg: MeshDeformConfig = loaded.parse()?;
        config::validate(&cfg, &loaded.path.display().to_string())
    },
    run: |loaded, cli, _| train::run(loaded, cli),
    resumable: false,
};
