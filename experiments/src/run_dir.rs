//! Run folders: `runs/<config-name>/<timestamp>/`, never overwritten; a human log inside.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow};

/// A fresh run folder and its `log.txt`.
pub struct RunDir {
    path: PathBuf,
    log: Mutex<File>,
}

impl RunDir {
    /// Creates `<root>/<name>/<timestamp>[-k]/`, choosing a suffix k if the folder exists, and
    /// writes the resolved config into it as `config.toml`.
    pub fn create(root: &Path, name: &str, resolved_config: &str) -> Result<Self> {
        let parent = root.join(name);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
        let mut path = parent.join(&stamp);
        let mut k = 1;
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    k += 1;
                    path = parent.join(format!("{stamp}-{k}"));
                }
                Err(e) => return Err(anyhow!("creating run folder {}: {e}", path.display())),
            }
        }
        std::fs::write(path.join("config.toml"), resolved_config)?;
        let log = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(path.join("log.txt"))?;
        Ok(Self {
            path,
            log: Mutex::new(log),
        })
    }

    /// Reopens an existing run folder (to resume it); its log is appended to.
    pub fn reopen(path: &Path) -> Result<Self> {
        if !path.join("config.toml").is_file() {
            return Err(anyhow!(
                "{} is not a run folder (it has no config.toml)",
                path.display()
            ));
        }
        let log = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path.join("log.txt"))?;
        Ok(Self {
            path: path.to_path_buf(),
            log: Mutex::new(log),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the folder, creating its parent folders.
    pub fn file(&self, relative: &str) -> Result<PathBuf> {
        let p = self.path.join(relative);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(p)
    }

    /// Appends a timestamped line to `log.txt`.
    pub fn log(&self, line: &str) {
        let stamp = chrono::Local::now().format("%H:%M:%S");
        if let Ok(mut f) = self.log.lock() {
            let _ = writeln!(f, "[{stamp}] {line}");
        }
    }
}
