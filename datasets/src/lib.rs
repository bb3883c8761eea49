//! Data for swburn's experiments: point-cloud files (ShapeNet-55 `.npy`/`.npz`), PLY output,
//! and seeded synthetic shapes that need no download.
#![warn(missing_docs)]

pub mod cloud;
pub mod error;
pub mod npy;
pub mod ply;
pub mod synthetic;

pub use cloud::PointCloud;
pub use error::{DataError, Result};
