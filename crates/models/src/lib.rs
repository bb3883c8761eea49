//! Models trained with sliced-Wasserstein losses. One family per folder:
//! `mesh_ode/` (DDOT's neural-ODE deformer); SNGAN, PointNet autoencoder and amortized
//! projection networks follow with their issues.
#![warn(missing_docs)]

pub mod mesh_ode;
