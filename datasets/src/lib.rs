//! Data for swburn's experiments, one reader per file format, each refusing bad files with an
//! error that names the file (and the cloud, vertex or record):
//!
//! * images: CIFAR-10 (binary version, folder or tar.gz; `cifar`), CelebA (aligned JPEGs and
//!   the official split file; `celeba`), seeded synthetic images (`synthetic_images`), PNG output
//!   (`image`);
//! * point clouds: ShapeNet-55 `.npy`/`.npz` (`shapenet`, `npy`), ModelNet40 in PointNet's HDF5
//!   layout, read in pure Rust (`modelnet`), PLY output (`ply`), seeded synthetic shapes
//!   (`synthetic`; the cloud type in `cloud`);
//! * meshes: OBJ/OFF/PLY (`mesh_io`), FreeSurfer surfaces (`freesurfer`), the mesh type and its
//!   frames (`mesh`, `mesh_frame`), seeded synthetic meshes (`synthetic_mesh`);
//! * geometry for shape correspondence: cotangent Laplacian and mass, Laplace–Beltrami
//!   eigenpairs (shift-invert and dense), gradient operators and the wave kernel signature
//!   (`geometry`), and the ULRSSM folder layout the official EOT code reads, with its geodesics and
//!   exports (`shape_corr`);
//! * downloads with checksums and resume (`download`).
//!
//! Datasets implement Burn's `Dataset`; batchers produce tensors.
#![warn(missing_docs)]

pub mod celeba;
pub mod cifar;
pub mod cloud;
pub mod download;
pub mod error;
pub mod freesurfer;
pub mod geometry;
pub mod image;
pub mod mesh;
pub mod mesh_frame;
pub mod mesh_io;
pub mod modelnet;
pub mod npy;
pub mod ply;
pub mod shape_corr;
pub mod shapenet;
pub mod synthetic;
pub mod synthetic_images;
pub mod synthetic_mesh;

/// A file of this crate's folder in tests: the run-time `CARGO_MANIFEST_DIR` (so a test binary
/// built in another checkout sharing the target folder reads this checkout's files), else the
/// compile-time one.
#[cfg(test)]
pub(crate) fn crate_file(relative: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join(relative)
}

pub use cloud::PointCloud;
pub use error::{DataError, Result};
pub use mesh::Mesh;
