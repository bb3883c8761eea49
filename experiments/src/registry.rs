//! The experiments, in one list: each is its config key, a check of its config (typed and
//! validated, no data read, nothing written) and its run. The list drives the dispatch of
//! `experiments --config`, `--resume` (the resumable ones), `experiments list`, the
//! `unknown experiment` error and [`crate::config_check`] (so the config fuzz target follows).
//! Adding an experiment: its own folder with an `EXPERIMENT` constant, and one line here.

use std::path::Path;

use anyhow::Result;

use crate::cli::Cli;
use crate::config::Loaded;

/// One experiment.
pub struct Experiment {
    /// The config key (`experiment = "<name>"`).
    pub name: &'static str,
    /// Parses and checks a loaded config as the run would before touching data (the error
    /// names the file and the key).
    pub check: fn(&Loaded) -> Result<()>,
    /// Runs it; the path is `--resume RUN_DIR` (only for resumable experiments).
    pub run: fn(&Loaded, &Cli, Option<&Path>) -> Result<()>,
    /// Whether a run checkpoints its training state and continues with `--resume`.
    pub resumable: bool,
}

/// Every experiment.
pub const EXPERIMENTS: &[Experiment] = &[
    crate::gradient_flow::EXPERIMENT,
    crate::variance::EXPERIMENT,
    crate::mesh_deform::EXPERIMENT,
    crate::mesh_deform_dataset::EXPERIMENT,
    crate::autoencoder::EXPERIMENT,
    crate::sngan::EXPERIMENT,
    crate::shape_corr::EXPERIMENT,
];

/// The experiment of config key `name`.
pub fn find(name: &str) -> Option<&'static Experiment> {
    EXPERIMENTS.iter().find(|e| e.name == name)
}

/// The config keys, comma-separated (for errors).
pub fn names() -> String {
    EXPERIMENTS
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}
