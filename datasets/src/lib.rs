//! Data for swburn's experiments: CIFAR-10 (binary version, directory or tar.gz), point-cloud
//! files (ShapeNet-55 `.npy`/`.npz`), PLY output, and seeded synthetic shapes and images that
//! need no download. Datasets implement Burn's `Dataset`; batchers produce tensors.
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

pub use cloud::PointCloud;
pub use error::{DataError, Result};
pub use mesh::Mesh;
