//! Saving, verifying, resuming and pruning checkpoints.

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
        Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device").into())
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
