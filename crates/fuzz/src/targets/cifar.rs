//! `cifar::parse_batch` on batch-file bytes and `Cifar10::from_archive` on a `.tar.gz`.

use std::path::Path;

use datasets::cifar::{Cifar10, Split, encode_batch, parse_batch};
use datasets::synthetic_images::synthetic_cifar;

use super::message;
use crate::target::{Target, no_fixup, no_setup};

/// `parse_batch` on one batch file.
pub const BATCH: Target = Target {
    name: "cifar_batch",
    reader: "cifar::parse_batch",
    file_name: "test_batch.bin",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read_batch,
    seeds: batch_seeds,
};

/// `Cifar10::from_archive(_, Split::Test)` on a `cifar-10-binary.tar.gz`.
pub const ARCHIVE: Target = Target {
    name: "cifar_archive",
    reader: "cifar::Cifar10::from_archive",
    file_name: "cifar-10-binary.tar.gz",
    text: false,
    setup: no_setup,
    fixup: crate::fixup::gzip,
    run: read_archive,
    seeds: archive_seeds,
};

fn read_batch(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    parse_batch(&bytes, path).map(|_| ()).map_err(message)
}

fn read_archive(path: &Path) -> Result<(), String> {
    Cifar10::from_archive(path, Split::Test)
        .map(|_| ())
        .map_err(message)
}

fn batch_seeds() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "one_record.bin".into(),
            encode_batch(&synthetic_cifar(1, 1)),
        ),
        (
            "two_records.bin".into(),
            encode_batch(&synthetic_cifar(2, 2)),
        ),
    ]
}

/// A gzip-compressed tar holding `(path, bytes)` entries (mode 644, mtime 0: reproducible).
fn tar_gz(entries: &[(&str, Vec<u8>)], level: flate2::Compression) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), level);
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, &bytes[..])
            .expect("tar entry");
    }
    tar.into_inner()
        .expect("tar end")
        .finish()
        .expect("gzip end")
}

fn archive_seeds() -> Vec<(String, Vec<u8>)> {
    let test = encode_batch(&synthetic_cifar(1, 3));
    let default = flate2::Compression::default();
    vec![
        (
            "test_only.tar.gz".into(),
            tar_gz(
                &[("cifar-10-batches-bin/test_batch.bin", test.clone())],
                default,
            ),
        ),
        // Stored deflate blocks: the tar headers lie in the file as they are, for mutations
        // to reach (the gzip fix-up repairs the trailer's CRC).
        (
            "stored_blocks.tar.gz".into(),
            tar_gz(
                &[("cifar-10-batches-bin/test_batch.bin", test.clone())],
                flate2::Compression::none(),
            ),
        ),
        (
            "with_meta.tar.gz".into(),
            tar_gz(
                &[
                    (
                        "cifar-10-batches-bin/batches.meta.txt",
                        b"airplane\nautomobile\n".to_vec(),
                    ),
                    ("cifar-10-batches-bin/test_batch.bin", test),
                ],
                default,
            ),
        ),
    ]
}
