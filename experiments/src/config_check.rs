//! A config read, typed and checked as its experiment's `run` would before touching data or
//! writing anything — the config reader as a whole, for the fuzz harness (`crates/fuzz`) and
//! anyone who wants to validate a config without running it.

use std::path::Path;

use anyhow::Result;

/// Loads `path` (no overrides), deserialises it into its experiment's config type and runs
/// the checks that need no data. Returns the experiment's name.
pub fn check_config(path: &Path) -> Result<String> {
    let (loaded, e) = crate::registry::load(path, &[])?;
    (e.check)(&loaded)?;
    Ok(loaded.experiment)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped config passes; a wrong type in a known field fails naming it.
    #[test]
    fn every_shipped_config_checks_and_a_bad_field_is_named() {
        let configs = Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../configs");
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

    /// The registry and `configs/` agree: every shipped config's experiment is registered
    /// (check_config passes), and every registered experiment has a shipped config.
    #[test]
    fn every_registered_experiment_has_a_shipped_config() {
        let configs = Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../configs");
        let mut shipped = std::collections::BTreeSet::new();
        for e in std::fs::read_dir(&configs).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                shipped.insert(check_config(&p).unwrap());
            }
        }
        for e in crate::registry::EXPERIMENTS {
            assert!(
                shipped.contains(e.name),
                "no config in configs/ runs `{}`",
                e.name
            );
        }
        let names: std::collections::BTreeSet<&str> = crate::registry::EXPERIMENTS
            .iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(
            names.len(),
            crate::registry::EXPERIMENTS.len(),
            "a name registered twice"
        );
    }
}
