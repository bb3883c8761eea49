//! The fuzz targets, one file per reader module of `datasets` and one for the `experiments`
//! binary's configs and checkpoints; [`all`] lists them in report order.

mod celeba;
mod cifar;
mod experiments;
mod freesurfer;
mod mesh_io;
mod modelnet;
mod npy;
mod operators;
mod ply;
mod shape_corr;

use crate::target::Target;

/// Every target.
pub fn all() -> Vec<Target> {
    vec![
        npy::NPY_CLOUDS,
        npy::NPZ_CLOUDS,
        npy::NPZ_F64,
        cifar::BATCH,
        cifar::ARCHIVE,
        celeba::JPEG,
        celeba::PNG,
        celeba::PARTITION_LIST,
        modelnet::H5,
        mesh_io::OBJ,
        mesh_io::PLY,
        mesh_io::OFF,
        ply::CLOUD,
        freesurfer::SURFACE,
        shape_corr::DIST_MAT,
        shape_corr::VTS,
        operators::CACHE,
        experiments::CONFIG,
        experiments::CHECKPOINT_MODEL,
        experiments::CHECKPOINT_MANIFEST,
    ]
}

/// The target called `name`.
pub fn by_name(name: &str) -> Option<Target> {
    all().into_iter().find(|t| t.name == name)
}

/// `datasets/tests/data/<name>`: the reader fixtures some seeds are copied from.
fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../datasets/tests/data")
    .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A reader's error as the text it shows.
fn message(e: datasets::DataError) -> String {
    e.to_string()
}

/// The bytes a path-based writer of `datasets` produces (through a file in the temp folder).
fn written(
    file_name: &str,
    write: impl FnOnce(&std::path::Path) -> datasets::Result<()>,
) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!(
        "swburn-fuzz-seed-{}-{file_name}",
        std::process::id()
    ));
    write(&path).unwrap_or_else(|e| panic!("writing a seed: {e}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let _ = std::fs::remove_file(&path);
    bytes
}
