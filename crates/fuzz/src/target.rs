//! A fuzz target: one reader of the `datasets` crate, the file name its input is written under,
//! and the recipe of its seed corpus.

use std::path::{Path, PathBuf};

/// One reader under test.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Short name: the corpus folder `corpus/<name>/` and the row of the report.
    pub name: &'static str,
    /// The reader, as the report names it (`npy::read_clouds (.npy)`).
    pub reader: &'static str,
    /// The file name each input is written under (the readers dispatch on the extension).
    pub file_name: &'static str,
    /// A text format: numeric-token mutations apply.
    pub text: bool,
    /// Prepares the scratch folder once before the first input (files the reader needs beside
    /// its input); most targets need none.
    pub setup: fn(&Path) -> std::io::Result<()>,
    /// Repairs a mutated input's checksums ([`crate::fixup`]), so that most inputs get past
    /// them to the decoder; the runner applies it to 7 inputs in 8 and leaves the rest broken,
    /// so the checksum errors stay covered too.
    pub fixup: fn(&mut [u8]),
    /// Reads the input file; an `Err` is the reader's error message.
    pub run: fn(&Path) -> Result<(), String>,
    /// The seed files, `(file name, bytes)`, made with the repository's own writers or copied
    /// from its test fixtures; `make_corpus` writes them to `corpus/<name>/`.
    pub seeds: fn() -> Vec<(String, Vec<u8>)>,
}

/// No setup.
pub fn no_setup(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// No checksum to repair.
pub fn no_fixup(_: &mut [u8]) {}

impl Target {
    /// `corpus/<name>/` inside this crate.
    pub fn corpus_dir(&self) -> PathBuf {
        Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("corpus")
        .join(self.name)
    }

    /// The committed seed files, sorted by name.
    pub fn corpus(&self) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
        let dir = self.corpus_dir();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read(&p).map(|bytes| (p, bytes)))
            .collect()
    }
}
