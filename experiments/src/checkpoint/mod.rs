//! Checkpoints of a run folder: `checkpoints/<name>/` written atomically with a checksummed
//! manifest, verified before anything is loaded from them.
//!
//! ```text
//! checkpoints/
//!   LATEST            the name of the newest committed checkpoint (written to LATEST.tmp, renamed)
//!   step-4/           one checkpoint: the experiment's files, then
//!     state           "<counter>\n<seconds>\n"   (epoch or step it ends; training seconds)
//!     MANIFEST        "<sha256 hex> <bytes> <file>\n" per file (state included), sorted by file
//!   best/             (autoencoder) the same layout; LATEST never names it
//! ```
//!
//! Writing ([`save`]): the files go into `<name>.tmp/`; `state` and `MANIFEST` follow (the
//! manifest is computed from the files as they lie on disk, read back); every file and the
//! folder are fsynced; only then is the folder renamed to `<name>/` and, for the latest
//! checkpoint, `LATEST` moved to it. Any failure removes `<name>.tmp/` and leaves the previous
//! checkpoints and `LATEST` as they were.
//!
//! Reading ([`resume_point`], [`verified`]): every manifest entry's size and SHA-256 are checked,
//! and a file in the folder that the manifest does not list (a manifest cut short) is an error
//! too. A damaged checkpoint is an error naming the file; the newest intact older checkpoint is
//! offered (`--from-checkpoint NAME`). Checkpoints written before manifests existed (a `state`
//! without a third line and no `MANIFEST`) are accepted unverified, with a note.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

/// The manifest's file name inside a checkpoint folder.
pub const MANIFEST: &str = "MANIFEST";
/// The state file's name inside a checkpoint folder.
pub const STATE: &str = "state";

/// Whether a committed checkpoint becomes the one `LATEST` names (`best/` does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A training checkpoint that `--resume` continues from.
    Latest,
    /// A side checkpoint (model selection); `LATEST` is not touched.
    Side,
}

/// A checkpoint that verified: where it is and what its `state` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// `checkpoints/<name>/`.
    pub dir: PathBuf,
    /// Its folder name, e.g. `step-4`.
    pub name: String,
    /// The epoch or step it ends.
    pub counter: usize,
    /// Training seconds up to it.
    pub seconds: f64,
    /// `false` for a checkpoint without a manifest (written by an older swburn).
    pub checksummed: bool,
}

/// `run_dir/checkpoints`.
pub fn checkpoints_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

/// Writes the checkpoint `name` of `run_dir`: `write` puts the experiment's files into the
/// folder it is given (a fresh `checkpoints/<name>.tmp/`), then the checkpoint is committed as
/// the module doc says. On any error the temporary folder is removed, the checkpoints already
/// there are untouched, and the error says which checkpoint is still good.
pub fn save(
    run_dir: &Path,
    name: &str,
    counter: usize,
    seconds: f64,
    role: Role,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    save_in(
        &checkpoints_dir(run_dir),
        run_dir,
        name,
        counter,
        seconds,
        role,
        write,
    )
}

/// [`save`] into `dir/<name>/` instead of `run_dir/checkpoints/` (the SNGAN's `best/` lies in
/// the run folder itself); `LATEST` is still `run_dir/checkpoints/LATEST`, so `dir` other than
/// the checkpoints folder takes [`Role::Side`].
pub fn save_in(
    dir: &Path,
    run_dir: &Path,
    name: &str,
    counter: usize,
    seconds: f64,
    role: Role,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    debug_assert!(role == Role::Side || dir == checkpoints_dir(run_dir));
    let dir = dir.to_path_buf();
    recover_interrupted(&dir, name)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let result = (|| {
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)
                .with_context(|| format!("removing the stale {}", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        write(&tmp)?;
        commit(&dir, &tmp, name, counter, seconds, role)
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        let kept = match role {
            Role::Latest => match latest_name(run_dir) {
                Some(good) => format!(
                    "the last good checkpoint {good} is intact (continue with: experiments --resume {})",
                    run_dir.display()
                ),
                None => "no earlier checkpoint exists".to_string(),
            },
            Role::Side => format!(
                "the previous {}/ (if any) is intact",
                dir.join(name).display()
            ),
        };
        return Err(anyhow!("writing checkpoint {name} failed: {err:#}; {kept}"));
    }
    Ok(())
}

/// Undoes a re-write of `dir/<name>/` that a kill interrupted between its two renames
/// (`<name>` → `<name>.old`, then `<name>.tmp` → `<name>`): with `<name>` missing and
/// `<name>.old` present, the old folder is put back. Returns whether it did.
pub fn recover_interrupted(dir: &Path, name: &str) -> Result<bool> {
    let (done, old) = (dir.join(name), dir.join(format!("{name}.old")));
    if done.exists() || !old.is_dir() {
        return Ok(false);
    }
    std::fs::rename(&old, &done)
        .with_context(|| format!("restoring {} from {}", done.display(), old.display()))?;
    Ok(true)
}

/// The name in `checkpoints/LATEST`, if there is one.
pub fn latest_name(run_dir: &Path) -> Option<String> {
    std::fs::read_to_string(checkpoints_dir(run_dir).join("LATEST"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn commit(
    dir: &Path,
    tmp: &Path,
    name: &str,
    counter: usize,
    seconds: f64,
    role: Role,
) -> Result<()> {
    write_synced(
        &tmp.join(STATE),
        format!("{counter}\n{seconds}\n").as_bytes(),
    )?;
    let manifest = manifest_of(tmp)?;
    write_synced(&tmp.join(MANIFEST), manifest.as_bytes())?;
    sync_dir(tmp)?;
    let done = dir.join(name);
    let old = dir.join(format!("{name}.old"));
    if done.exists() {
        // Re-writing an existing name (best/, or a step written again after a resume): the old
        // folder is moved aside first and removed only once the new one is in place.
        if old.exists() {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("removing the stale {}", old.display()))?;
        }
        std::fs::rename(&done, &old).with_context(|| format!("moving {} aside", done.display()))?;
    }
    std::fs::rename(tmp, &done).with_context(|| format!("renaming {}", tmp.display()))?;
    if old.exists() {
        let _ = std::fs::remove_dir_all(&old);
    }
    if role == Role::Latest {
        let latest_tmp = dir.join("LATEST.tmp");
        write_synced(&latest_tmp, name.as_bytes())?;
        std::fs::rename(&latest_tmp, dir.join("LATEST"))
            .with_context(|| format!("renaming {}", latest_tmp.display()))?;
    }
    sync_dir(dir)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// The committed checkpoints of a run (folders with a `state`, except `best` and the
/// temporary/set-aside ones), with their counters, newest first. Unverified.
fn committed(run_dir: &Path) -> Vec<(usize, String)> {
    let Ok(entries) = std::fs::read_dir(checkpoints_dir(run_dir)) else {
        return Vec::new();
    };
    let mut found: Vec<(usize, String)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            if name == "best" || name.contains('.') {
                return None;
            }
            let (counter, _) = read_state(&e.path()).ok()?;
            Some((counter, name))
        })
        .collect();
    found.sort_by(|a, b| b.cmp(a));
    found
}

/// Where `--resume` continues: the checkpoint `from` (a folder name under `checkpoints/`), or
/// the one `LATEST` names. It must verify; when it does not, the error names the damaged file
/// and offers the newest intact checkpoint before it.
pub fn resume_point(run_dir: &Path, from: Option<&str>) -> Result<Checkpoint> {
    let dir = checkpoints_dir(run_dir);
    let name = match from {
        Some(n) => {
            if n.is_empty() || n.contains('/') || n.contains('\\') || n == ".." {
                bail!(
                    "--from-checkpoint `{n}`: give a folder name under {}",
                    dir.display()
                );
            }
            n.to_string()
        }
        None => latest_name(run_dir).ok_or_else(|| {
            anyhow!(
                "{}: no checkpoint (checkpoints/LATEST is missing)",
                run_dir.display()
            )
        })?,
    };
    recover_interrupted(&dir, &name)?;
    match verified(&dir.join(&name)) {
        Ok(c) => Ok(c),
        Err(err) => {
            let counter = read_state(&dir.join(&name)).map(|s| s.0).ok();
            let offer = committed(run_dir)
                .into_iter()
                .filter(|(c, n)| *n != name && counter.is_none_or(|k| *c < k))
                .find_map(|(_, n)| verified(&dir.join(&n)).ok());
            let hint = match offer {
                Some(good) => format!(
                    "the newest intact checkpoint is {} ({} {}): continue from it with `experiments --resume {} --from-checkpoint {}` (checkpoints after it are set aside, not deleted)",
                    good.name,
                    if good.name.starts_with("epoch") {
                        "epoch"
                    } else {
                        "step"
                    },
                    good.counter,
                    run_dir.display(),
                    good.name
                ),
                None => "no intact checkpoint remains; start the run again".to_string(),
            };
            Err(anyhow!("checkpoint {name} is damaged: {err:#}\n{hint}"))
        }
    }
}

/// After resuming from `from`: every committed checkpoint with a larger counter is renamed
/// `<name>.set-aside-<timestamp>` (kept for the user, ignored by resume and pruning), and
/// `LATEST` names `from`. Returns the names set aside.
pub fn set_aside_after(run_dir: &Path, from: &Checkpoint) -> Result<Vec<String>> {
    let dir = checkpoints_dir(run_dir);
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut moved = Vec::new();
    for (counter, name) in committed(run_dir) {
        if counter > from.counter && name != from.name {
            let to = dir.join(format!("{name}.set-aside-{stamp}"));
            std::fs::rename(dir.join(&name), &to)
                .with_context(|| format!("setting {} aside", dir.join(&name).display()))?;
            moved.push(name);
        }
    }
    if latest_name(run_dir).as_deref() != Some(from.name.as_str()) {
        let latest_tmp = dir.join("LATEST.tmp");
        write_synced(&latest_tmp, from.name.as_bytes())?;
        std::fs::rename(&latest_tmp, dir.join("LATEST"))?;
    }
    Ok(moved)
}

/// Removes the oldest committed checkpoints named `<prefix><counter>` beyond the `keep` newest
/// (at least 2 are kept, so a damaged latest one always has an intact predecessor to offer).
pub fn prune(run_dir: &Path, prefix: &str, keep: usize) -> Result<()> {
    let dir = checkpoints_dir(run_dir);
    let mut counters: Vec<usize> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    counters.sort_unstable();
    let excess = counters.len().saturating_sub(keep.max(2));
    for old in &counters[..excess] {
        std::fs::remove_dir_all(dir.join(format!("{prefix}{old}")))
            .with_context(|| format!("removing the old checkpoint {prefix}{old}"))?;
    }
    Ok(())
}

mod manifest;
#[cfg(test)]
mod tests;

pub use manifest::verified;
use manifest::{manifest_of, read_state};
