//! Models trained with sliced-Wasserstein losses. One family per folder:
//! `amortized/` (projection networks for amortized SW), `mesh_ode/` (DDOT's neural-ODE
//! deformer); SNGAN and the PointNet autoencoder follow with their issues.
#![warn(missing_docs)]

pub mod amortized;
pub mod mesh_ode;
