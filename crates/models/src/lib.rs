//! Models trained with sliced-Wasserstein losses. One family per folder:
//! `amortized/` (projection networks for amortized SW), `mesh_ode/` (DDOT's neural-ODE
//! deformer), `pointnet/` (the PointNet autoencoder), `evaluation/` (its approximate EMD and
//! latent linear SVM), `sngan/` (CV-SW's generator and discriminator), `inception/` (the FID
//! network, FID and IS), `diffusion_net/` and `fmap/` (EOT shape correspondence: DiffusionNet
//! features, functional maps, their losses and refinement).
#![warn(missing_docs)]

pub mod amortized;
pub mod diffusion_net;
pub mod evaluation;
pub mod fmap;
pub mod inception;
pub mod mesh_ode;
pub mod pointnet;
pub mod sngan;
