//! Spectral geometry of triangle meshes, as DiffusionNet and functional maps need it
//! (official reference: Tungthanhlee/EOT-Correspondence `utils/geometry_util.py`, itself
//! adapted from nmwsharp/diffusion-net). One concern per file:
//!
//! - [`laplacian`]: cotangent Laplacian `L` (positive semi-definite) and lumped mass `M`;
//! - [`eigen`]: the first K generalized eigenpairs `L φ = λ M φ` and the pseudo-inverse `Φᵀ M`
//!   (dense), [`shift_invert`]: the same by sparse shift-invert Lanczos for large meshes;
//! - [`wks`]: wave-kernel signatures with the official auto-scaling and normalisation;
//! - [`gradient`]: vertex normals, tangent frames and the per-vertex least-squares gradient;
//! - [`operators`]: all of the above for one mesh, cached on disk keyed by a hash of the mesh
//!   and K.
//!
//! Everything is computed in f64.

pub mod dense_eigen;
pub mod eigen;
pub mod gradient;
pub mod laplacian;
pub mod operators;
pub mod shift_invert;
pub mod wks;

pub use dense_eigen::{Eigenbasis, dense_eigenpairs};
pub use eigen::{EigenSolver, eigenpairs_with, generalized_eigenpairs};
pub use gradient::{GradientOperator, gradient_operator, tangent_frames, vertex_normals};
pub use laplacian::{SparseMatrix, cotangent_laplacian, lumped_mass};
pub use operators::{SpectralOperators, load_or_compute};
pub use shift_invert::shift_invert_eigenpairs;
pub use wks::wave_kernel_signature;
