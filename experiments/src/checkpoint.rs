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
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

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

/// SHA-256 (hex) and length of a file, streamed.
fn digest(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((hex, len))
}

/// The files of a checkpoint folder (plain files, the manifest excluded), sorted. A
/// sub-folder is an error: checkpoints are flat.
fn files_of(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST {
            continue;
        }
        if !entry.file_type()?.is_file() {
            bail!(
                "{}: unexpected non-file entry in a checkpoint",
                entry.path().display()
            );
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

fn manifest_of(dir: &Path) -> Result<String> {
    let mut out = String::new();
    for name in files_of(dir)? {
        let (hex, len) = digest(&dir.join(&name))?;
        out.push_str(&format!("{hex} {len} {name}\n"));
    }
    Ok(out)
}

/// Checks a checkpoint folder against its manifest; returns its state. The error names the
/// first file that does not match (or the manifest itself).
pub fn verified(dir: &Path) -> Result<Checkpoint> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !dir.is_dir() {
        bail!("{}: no such checkpoint", dir.display());
    }
    let (counter, seconds) = read_state(dir)?;
    let manifest_path = dir.join(MANIFEST);
    let text = match std::fs::read(&manifest_path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| anyhow!("{}: not text (damaged)", manifest_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Checkpoint {
                dir: dir.to_path_buf(),
                name,
                counter,
                seconds,
                checksummed: false,
            });
        }
        Err(e) => return Err(anyhow!("{}: {e}", manifest_path.display())),
    };
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.splitn(3, ' ');
        let (Some(hex), Some(len), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            bail!(
                "{} line {}: not `<sha256> <bytes> <file>` (damaged manifest)",
                manifest_path.display(),
                i + 1
            );
        };
        let len: u64 = len.parse().map_err(|_| {
            anyhow!(
                "{} line {}: size `{len}` is not a number (damaged manifest)",
                manifest_path.display(),
                i + 1
            )
        })?;
        let path = dir.join(file);
        if file.contains('/') || file == MANIFEST || !path.is_file() {
            bail!(
                "{}: listed in the manifest but missing (damaged checkpoint)",
                path.display()
            );
        }
        let (actual, actual_len) = digest(&path)?;
        if actual_len != len {
            bail!(
                "{}: {actual_len} bytes, the manifest says {len} (truncated or damaged)",
                path.display()
            );
        }
        if actual != hex {
            bail!(
                "{}: SHA-256 {actual} does not match the manifest's {hex} (the file changed after it was written)",
                path.display()
            );
        }
        listed.push(file.to_string());
    }
    listed.sort();
    if let Some(extra) = files_of(dir)?.into_iter().find(|f| !listed.contains(f)) {
        bail!(
            "{}: not in the manifest {} (a manifest cut short, or a file added later)",
            dir.join(extra).display(),
            manifest_path.display()
        );
    }
    if !listed.iter().any(|f| f == STATE) {
        bail!(
            "{}: the manifest does not cover `state` (damaged manifest)",
            manifest_path.display()
        );
    }
    Ok(Checkpoint {
        dir: dir.to_path_buf(),
        name,
        counter,
        seconds,
        checksummed: true,
    })
}

fn read_state(dir: &Path) -> Result<(usize, f64)> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: reading the checkpoint state", path.display()))?;
    let mut lines = text.lines();
    let counter = lines.next().unwrap_or("").trim().parse().map_err(|_| {
        anyhow!(
            "{}: the first line is not a step/epoch count (damaged)",
            path.display()
        )
    })?;
    let seconds: f64 = lines.next().unwrap_or("0").trim().parse().map_err(|_| {
        anyhow!(
            "{}: the second line is not a number of seconds (damaged)",
            path.display()
        )
    })?;
    if !seconds.is_finite() || seconds < 0.0 {
        bail!("{}: {seconds} training seconds (damaged)", path.display());
    }
    Ok((counter, seconds))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write_files(dir: &Path, files: &[(&str, &[u8])]) -> Result<()> {
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes)?;
        }
        Ok(())
    }

    fn snapshot(run: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(run, &mut out);
        out.sort();
        out
    }

    #[test]
    fn a_committed_checkpoint_verifies_and_its_manifest_matches_sha256() {
        let run = tempfile::tempdir().unwrap();
        save(run.path(), "step-2", 2, 1.5, Role::Latest, |d| {
            write_files(d, &[("model.bpk", b"abc")])
        })
        .unwrap();
        let c = resume_point(run.path(), None).unwrap();
        assert_eq!(
            (c.name.as_str(), c.counter, c.seconds, c.checksummed),
            ("step-2", 2, 1.5, true)
        );
        let manifest = std::fs::read_to_string(c.dir.join(MANIFEST)).unwrap();
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert!(manifest.contains(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3 model.bpk\n"
        ));
        assert!(manifest.contains(" 6 state\n"), "{manifest}");
        assert!(!run.path().join("checkpoints/step-2.tmp").exists());
    }

    /// A bit flip, a truncation, a deleted file, an added file and a cut manifest are each
    /// reported, naming the file; the intact older checkpoint is offered.
    #[test]
    fn damage_is_named_and_the_previous_good_checkpoint_offered() {
        type Damage = fn(&Path);
        let cases: [(&str, Damage, &str); 5] = [
            (
                "bit flip",
                |d| {
                    let p = d.join("model.bpk");
                    let mut b = std::fs::read(&p).unwrap();
                    b[1] ^= 0x10;
                    std::fs::write(&p, b).unwrap();
                },
                "model.bpk: SHA-256",
            ),
            (
                "truncation",
                |d| {
                    std::fs::write(d.join("model.bpk"), b"m").unwrap();
                },
                "model.bpk: 1 bytes, the manifest says 2",
            ),
            (
                "deleted",
                |d| std::fs::remove_file(d.join("model.bpk")).unwrap(),
                "model.bpk: listed in the manifest but missing",
            ),
            (
                "added",
                |d| std::fs::write(d.join("extra.bpk"), b"x").unwrap(),
                "extra.bpk: not in the manifest",
            ),
            (
                "cut manifest",
                |d| {
                    let p = d.join(MANIFEST);
                    let t = std::fs::read_to_string(&p).unwrap();
                    std::fs::write(&p, t.lines().next().unwrap()).unwrap();
                },
                "not in the manifest",
            ),
        ];
        for (what, damage, expected) in cases {
            let run = tempfile::tempdir().unwrap();
            for step in [2, 4] {
                save(
                    run.path(),
                    &format!("step-{step}"),
                    step,
                    0.0,
                    Role::Latest,
                    |d| write_files(d, &[("model.bpk", format!("m{step}").as_bytes())]),
                )
                .unwrap();
            }
            damage(&run.path().join("checkpoints/step-4"));
            let before = snapshot(run.path());
            let err = format!("{:#}", resume_point(run.path(), None).unwrap_err());
            assert!(
                err.contains("checkpoint step-4 is damaged"),
                "{what}: {err}"
            );
            assert!(err.contains(expected), "{what}: {err}");
            assert!(err.contains("--from-checkpoint step-2"), "{what}: {err}");
            assert_eq!(snapshot(run.path()), before, "{what}: nothing changed");
            let c = resume_point(run.path(), Some("step-2")).unwrap();
            assert_eq!(c.counter, 2);
        }
    }

    #[test]
    fn an_injected_write_error_keeps_the_last_good_checkpoint() {
        let run = tempfile::tempdir().unwrap();
        save(run.path(), "step-2", 2, 0.0, Role::Latest, |d| {
            write_files(d, &[("model.bpk", b"good")])
        })
        .unwrap();
        let before = snapshot(run.path());
        let err = save(run.path(), "step-4", 4, 0.0, Role::Latest, |d| {
            write_files(d, &[("model.bpk", b"half")])?;
            Err(
                std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device")
                    .into(),
            )
        })
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("writing checkpoint step-4 failed"), "{msg}");
        assert!(msg.contains("No space left on device"), "{msg}");
        assert!(
            msg.contains("the last good checkpoint step-2 is intact"),
            "{msg}"
        );
        assert_eq!(snapshot(run.path()), before);
        assert_eq!(resume_point(run.path(), None).unwrap().counter, 2);
        // A side checkpoint (best/) failing leaves the previous best in place.
        save(run.path(), "best", 2, 0.0, Role::Side, |d| {
            write_files(d, &[("model.bpk", b"b2")])
        })
        .unwrap();
        let before = snapshot(run.path());
        assert!(
            save(run.path(), "best", 4, 0.0, Role::Side, |_| Err(anyhow!(
                "disk gone"
            )))
            .is_err()
        );
        assert_eq!(snapshot(run.path()), before);
        assert_eq!(latest_name(run.path()).as_deref(), Some("step-2"));
    }

    #[test]
    fn setting_aside_later_checkpoints_keeps_their_files() {
        let run = tempfile::tempdir().unwrap();
        for step in [2, 4, 6] {
            save(
                run.path(),
                &format!("step-{step}"),
                step,
                0.0,
                Role::Latest,
                |d| write_files(d, &[("model.bpk", b"m")]),
            )
            .unwrap();
        }
        let from = resume_point(run.path(), Some("step-2")).unwrap();
        let moved = set_aside_after(run.path(), &from).unwrap();
        assert_eq!(moved, vec!["step-6".to_string(), "step-4".to_string()]);
        assert_eq!(latest_name(run.path()).as_deref(), Some("step-2"));
        let names: Vec<String> = std::fs::read_dir(run.path().join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.iter().filter(|n| n.contains(".set-aside-")).count(),
            2
        );
        // Pruning ignores the set-aside folders and keeps at least two.
        prune(run.path(), "step-", 1).unwrap();
        assert!(run.path().join("checkpoints/step-2").is_dir());
        assert_eq!(committed(run.path()), vec![(2, "step-2".to_string())]);
    }

    #[test]
    fn a_checkpoint_without_manifest_is_accepted_as_unverified() {
        let run = tempfile::tempdir().unwrap();
        let d = run.path().join("checkpoints/epoch-3");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("state"), "3\n7.5\n").unwrap();
        std::fs::write(run.path().join("checkpoints/LATEST"), "epoch-3").unwrap();
        let c = resume_point(run.path(), None).unwrap();
        assert_eq!((c.counter, c.seconds, c.checksummed), (3, 7.5, false));
        std::fs::write(d.join("state"), "x\n").unwrap();
        let err = format!("{:#}", resume_point(run.path(), None).unwrap_err());
        assert!(err.contains("state: the first line"), "{err}");
        assert!(err.contains("no intact checkpoint remains"), "{err}");
    }

    /// Every single-bit flip tried (400, spread over the model file, the state and the
    /// manifest) is detected.
    #[test]
    fn every_bit_flip_in_a_checkpoint_is_detected() {
        let run = tempfile::tempdir().unwrap();
        let model: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
        save(run.path(), "step-3", 3, 2.25, Role::Latest, |d| {
            write_files(
                d,
                &[("model.bpk", &model), ("optimizer.bpk", b"adam moments")],
            )
        })
        .unwrap();
        let dir = run.path().join("checkpoints/step-3");
        let names = ["model.bpk", "optimizer.bpk", STATE, MANIFEST];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for k in 0..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let file = dir.join(names[k % names.len()]);
            let original = std::fs::read(&file).unwrap();
            let mut flipped = original.clone();
            let at = (x >> 8) as usize % flipped.len();
            flipped[at] ^= 1 << (x % 8);
            std::fs::write(&file, &flipped).unwrap();
            assert!(
                resume_point(run.path(), None).is_err(),
                "flip of bit {} of byte {at} of {} not detected",
                x % 8,
                file.display()
            );
            std::fs::write(&file, &original).unwrap();
        }
        assert!(resume_point(run.path(), None).is_ok());
    }

    /// A kill between the two renames of re-writing `best/` leaves `best.old/` and no `best/`:
    /// the next save (or resume) puts the old one back first, so nothing is lost.
    #[test]
    fn a_rewrite_interrupted_between_its_renames_is_recovered() {
        let run = tempfile::tempdir().unwrap();
        save(run.path(), "step-2", 2, 0.0, Role::Latest, |d| {
            write_files(d, &[("m.bpk", b"2")])
        })
        .unwrap();
        save(run.path(), "best", 2, 0.0, Role::Side, |d| {
            write_files(d, &[("m.bpk", b"b")])
        })
        .unwrap();
        let ckpt = run.path().join("checkpoints");
        std::fs::rename(ckpt.join("best"), ckpt.join("best.old")).unwrap();
        std::fs::rename(ckpt.join("step-2"), ckpt.join("step-2.old")).unwrap();
        assert_eq!(resume_point(run.path(), None).unwrap().counter, 2);
        assert!(recover_interrupted(&ckpt, "best").unwrap());
        assert_eq!(verified(&ckpt.join("best")).unwrap().counter, 2);
        assert!(!recover_interrupted(&ckpt, "best").unwrap());
        std::fs::rename(ckpt.join("best"), ckpt.join("best.old")).unwrap();
        save(run.path(), "best", 3, 0.0, Role::Side, |d| {
            write_files(d, &[("m.bpk", b"c")])
        })
        .unwrap();
        assert_eq!(verified(&ckpt.join("best")).unwrap().counter, 3);
        assert!(!ckpt.join("best.old").exists());
    }
}
