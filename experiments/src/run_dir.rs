//! Run folders: `runs/<config-name>/<timestamp>/`, never overwritten; a human log inside.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow};

/// Opens the CSV file `path` for appending (a resumed run adds rows to its own file) and writes
/// `header` first if the file is new.
pub fn append_csv(path: &Path, header: &[&str]) -> Result<csv::Writer<File>> {
    let fresh = !path.exists();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file);
    if fresh {
        w.write_record(header)?;
    }
    Ok(w)
}

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

/// The latest checkpoint folder of a run (named by `checkpoints/LATEST`) and the (counter,
/// seconds) in its `state` file: the epoch or step it ends, and the training seconds so far.
pub fn latest_checkpoint(run_dir: &Path) -> Result<(PathBuf, usize, f64)> {
    let ckpt = run_dir.join("checkpoints");
    let latest = std::fs::read_to_string(ckpt.join("LATEST")).map_err(|_| {
        anyhow!(
            "{}: no checkpoint (checkpoints/LATEST is missing)",
            run_dir.display()
        )
    })?;
    let ckpt = ckpt.join(latest.trim());
    let state = std::fs::read_to_string(ckpt.join("state"))
        .with_context(|| format!("{}: reading the checkpoint state", ckpt.display()))?;
    let mut lines = state.lines();
    let counter = lines
        .next()
        .unwrap_or("")
        .parse()
        .with_context(|| format!("{}: the state's first line", ckpt.display()))?;
    let seconds = lines
        .next()
        .unwrap_or("0")
        .parse()
        .with_context(|| format!("{}: the state's second line", ckpt.display()))?;
    Ok((ckpt, counter, seconds))
}

/// Finishes a checkpoint written into `checkpoints/<name>.tmp/`: writes its `state`, renames the
/// folder to `checkpoints/<name>/`, and only then points `checkpoints/LATEST` (itself written to
/// a temporary file and renamed) at it — a checkpoint interrupted half-way is never referenced.
pub fn commit_checkpoint(
    run_dir: &Path,
    name: &str,
    counter: usize,
    seconds: f64,
) -> std::io::Result<()> {
    let dir = run_dir.join("checkpoints");
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(tmp.join("state"), format!("{counter}\n{seconds}\n"))?;
    let done = dir.join(name);
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&tmp, &done)?;
    std::fs::write(dir.join("LATEST.tmp"), name)?;
    std::fs::rename(dir.join("LATEST.tmp"), dir.join("LATEST"))
}
