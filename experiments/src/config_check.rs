//! A config read, typed and checked as its experiment's `run` would before touching data or
//! writing anything — the config reader as a whole, for the fuzz harness (`crates/fuzz`) and
//! anyone who wants to validate a config without running it.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// Loads `path` (no overrides), deserialises it into its experiment's config type and runs
/// the checks that need no data. Returns the experiment's name.
pub fn check_config(path: &Path) -> Result<String> {
    let loaded = crate::config::load(path, &[])?;
    let file = loaded.path.display().to_string();
    match loaded.experiment.as_str() {
        "gradient_flow" => {
            let cfg: crate::flow::FlowConfig = loaded.parse()?;
            cfg.validate().with_context(|| file.clone())?;
        }
        "variance" => {
            let _: crate::variance::VarianceConfig = loaded.parse()?;
        }
        "mesh_deform" => {
            let cfg: crate::mesh::MeshDeformConfig = loaded.parse()?;
            crate::mesh::config::validate(&cfg, &file)?;
        }
        "mesh_deform_dataset" => {
            let _: crate::mesh::MeshDatasetConfig = loaded.parse()?;
        }
        "autoencoder" => {
            crate::autoencoder::AutoencoderConfig::load(&loaded)?;
        }
        "sngan" => {
            let cfg: crate::sngan::SnganConfig = loaded.parse()?;
            crate::sngan::config::checked(&cfg, &file)?;
        }
        "shape_corr" => {
            let cfg: crate::shape_corr::config::ShapeCorrConfig = loaded.parse()?;
            cfg.validate(&file)?;
        }
        other => bail!(
            "{file}: unknown experiment `{other}` in key `experiment`; expected one of: {}",
            crate::config::EXPERIMENTS.join(", ")
        ),
    }
    Ok(loaded.experiment)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped config passes; a wrong type in a known field fails naming it.
    #[test]
    fn every_shipped_config_checks_and_a_bad_field_is_named() {
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut n = 0;
        for e in std::fs::read_dir(&configs).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                check_config(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 7, "{n} configs");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "experiment = \"gradient_flow\"\n[flow]\nsteps = \"many\"\n",
        )
        .unwrap();
        let e = format!("{:#}", check_config(&bad).unwrap_err());
        assert!(e.contains("steps"), "{e}");
    }
}
