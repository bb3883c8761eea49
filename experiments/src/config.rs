//! Loading configs: TOML file → `--set` overrides → typed struct, with errors that name the
//! file, the key path and (where the TOML parser knows it) the line and column.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::header::{Headed, WithHeader};

/// A config file after overrides, not yet typed.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// The file stem (`gradient_flow` for `configs/gradient_flow.toml`), the run folder's parent.
    pub name: String,
    /// The value of the top-level `experiment` key.
    pub experiment: String,
    /// The resolved config (file + overrides), as saved into the run folder.
    pub table: Table,
    /// The text to deserialise: the file itself when there are no overrides (so line numbers
    /// match it), else the resolved table.
    text: String,
    overridden: bool,
}

/// Reads `path` and applies `overrides` (`a.b.c=value`, value in TOML syntax; bare words are
/// taken as strings).
pub fn load(path: &Path, overrides: &[String]) -> Result<Loaded> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!(
                "config file {} not found (run `experiments list` to see the configs)",
                path.display()
            )
        } else {
            anyhow!("reading config file {}: {e}", path.display())
        }
    })?;
    let mut table: Table = toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    for o in overrides {
        apply_override(&mut table, o).with_context(|| format!("--set {o}"))?;
    }
    let experiment = match table.get("experiment") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => bail!(
            "{}: key `experiment` must be a string, got {}",
            path.display(),
            other.type_str()
        ),
        None => bail!(
            "{}: missing key `experiment` (the experiment to run; `experiments list` shows the configs)",
            path.display()
        ),
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let overridden = !overrides.is_empty();
    let text = if overridden {
        toml::to_string(&table)?
    } else {
        text
    };
    Ok(Loaded {
        path: path.to_path_buf(),
        name,
        experiment,
        table,
        text,
        overridden,
    })
}

impl Loaded {
    /// Deserialises into the config `T` (which denies unknown fields): the four header keys
    /// into its [`Header`](crate::header::Header), every other key into `T` itself. Errors
    /// carry the key path and, where the TOML parser knows it, the line.
    pub fn parse<T: DeserializeOwned + Headed>(&self) -> Result<T> {
        let de = toml::Deserializer::new(&self.text);
        serde_path_to_error::deserialize::<_, WithHeader<T>>(de)
            .map(|config| config.0)
            .map_err(|e| {
                let key = e.path().to_string();
                let source = if self.overridden {
                    " (after --set overrides)"
                } else {
                    ""
                };
                anyhow!(
                    "{}{source}: at key `{key}`: {}",
                    self.path.display(),
                    e.into_inner()
                )
            })
    }

    /// Finds a file named in the config. A relative `path` is looked up in the working
    /// directory first, then in the config file's folder and each folder above it — so a
    /// shipped config (`configs/x.toml` naming `datasets/data/...`) works from any directory,
    /// and a run folder's saved `config.toml` still finds its data on `--resume`. When no
    /// candidate exists the error names the key and every place looked in.
    pub fn resolve_path(&self, key: &str, path: &Path) -> Result<PathBuf> {
        if path.is_absolute() || path.exists() {
            return Ok(path.to_path_buf());
        }
        let config_dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let config_dir = std::fs::canonicalize(&config_dir).unwrap_or(config_dir);
        let mut tried = vec![std::env::current_dir().unwrap_or_default().join(path)];
        // Up to the folder holding the workspace's Cargo.toml (or `/`), not beyond.
        for dir in config_dir.ancestors() {
            let candidate = dir.join(path);
            if candidate.exists() {
                return Ok(candidate);
            }
            tried.push(candidate);
            if dir.join("Cargo.toml").is_file() && dir.join("configs").is_dir() {
                break;
            }
        }
        bail!(
            "{}: `{key}` = {}: no such file (looked in: {})",
            self.path.display(),
            path.display(),
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The resolved config as TOML text.
    pub fn resolved(&self) -> String {
        toml::to_string(&self.table).expect("a TOML table serialises")
    }
}

fn apply_override(table: &mut Table, assignment: &str) -> Result<()> {
    let (path, raw) = assignment
        .split_once('=')
        .ok_or_else(|| anyhow!("expected KEY.PATH=VALUE"))?;
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        bail!("empty key in `{path}`");
    }
    let value = match toml::from_str::<Table>(&format!("v = {}", raw.trim())) {
        Ok(mut t) => t.remove("v").expect("the key just written"),
        Err(_) => Value::String(raw.trim().to_string()),
    };
    let mut node = table;
    for (i, key) in keys.iter().enumerate() {
        if i + 1 == keys.len() {
            node.insert(key.to_string(), value);
            return Ok(());
        }
        let entry = node
            .entry(key.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        node = match entry {
            Value::Table(t) => t,
            other => bail!(
                "`{}` is a {}, not a table",
                keys[..=i].join("."),
                other.type_str()
            ),
        };
    }
    Ok(())
}

/// Prints each config in `dir` (default `./configs`) with its `description`.
pub fn list(dir: Option<&Path>) -> Result<()> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("configs"));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| {
            anyhow!(
                "listing {}: {e} (run from the repository root, or pass --dir)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    for path in entries {
        let description = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| toml::from_str::<Table>(&t).ok())
            .and_then(|t| {
                t.get("description")
                    .and_then(|d| d.as_str().map(str::to_string))
            })
            .unwrap_or_else(|| "(no description)".into());
        println!("{:<28} {}", path.display(), description);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_typed_and_nested() {
        let mut t: Table = toml::from_str("[flow]\nsteps = 10\n").unwrap();
        apply_override(&mut t, "flow.steps=25").unwrap();
        apply_override(&mut t, "flow.estimators=[\"sw\"]").unwrap();
        apply_override(&mut t, "data.source=torus").unwrap();
        assert_eq!(t["flow"]["steps"].as_integer(), Some(25));
        assert_eq!(t["data"]["source"].as_str(), Some("torus"));
        assert!(
            apply_override(&mut t, "flow.steps.x=1")
                .unwrap_err()
                .to_string()
                .contains("not a table")
        );
        assert!(apply_override(&mut t, "novalue").is_err());
    }
}
