//! The experiments, in one list: each is its config key, a check of its config (typed and
//! validated, no data read, nothing written) and its run. The list drives the dispatch of
//! `experiments --config`, `--resume` (the resumable ones), `experiments list`, the
//! `unknown experiment` error and [`crate::config_check`] (so the config fuzz target follows).
//! Adding an experiment: its own folder with an `EXPERIMENT` constant, and one line here. Its
//! config embeds the shared [`crate::header::Header`] (`experiment`, `description`, `seed`,
//! `device`; implement [`crate::header::Headed`]) and its run opens with
//! [`crate::header::Opening::resolve`].

use std::path::Path;

use anyhow::{Result, bail};

use crate::config::Loaded;
pub use crate::experiment::Experiment;

/// Every experiment.
pub const EXPERIMENTS: &[Experiment] = &[
    crate::gradient_flow::EXPERIMENT,
    crate::variance::EXPERIMENT,
    crate::mesh_deform::EXPERIMENT,
    crate::mesh_deform_dataset::EXPERIMENT,
    crate::autoencoder::EXPERIMENT,
    crate::sngan::EXPERIMENT,
    crate::shape_corr::EXPERIMENT,
    crate::sphere_flow::EXPERIMENT,
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

/// Loads `path` with `overrides` ([`crate::config::load`]) and finds its experiment; an
/// experiment this list does not hold is an error naming the file and the known ones.
pub fn load(path: &Path, overrides: &[String]) -> Result<(Loaded, &'static Experiment)> {
    let loaded = crate::config::load(path, overrides)?;
    match find(&loaded.experiment) {
        Some(e) => Ok((loaded, e)),
        None => bail!(
            "{}: unknown experiment `{}` in key `experiment`; expected one of: {}",
            path.display(),
            loaded.experiment,
            names()
        ),
    }
}
