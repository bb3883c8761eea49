//! Models trained with sliced-Wasserstein losses. One family per folder:
//! `amortized/` (projection networks for amortized SW), `mesh_ode/` (DDOT's neural-ODE
//! deformer), `pointnet/` (the PointNet autoencoder), `evaluation/` (its approximate EMD, the
//! official MLP classifier on the latent codes and the linear SVM), `sngan/` (CV-SW's
//! generator and discriminator), `conv/` (their convolution: a GEMM kernel on Flex, LibTorch's
//! backward on tch), `norm/` (batch norm with fused kernels), `resample/` (nearest-neighbour
//! up-sampling and average pooling with fused kernels), `inception/` (the FID network, FID and
//! IS), `diffusion_net/` and `fmap/` (EOT shape correspondence: DiffusionNet features,
//! functional maps, their losses and refinement).
#![warn(missing_docs)]

pub mod amortized;
pub mod conv;
pub mod diffusion_net;
pub mod evaluation;
pub mod fmap;
pub mod inception;
pub mod mesh_ode;
pub mod norm;
pub mod pointnet;
pub mod resample;
pub mod sngan;
#[cfg(test)]
mod test_util;

/// The device of the SNGAN unit tests: Flex, or `SWBURN_TEST_DEVICE=tch` (LibTorch CPU) in a
/// build with `--features tch` (scripts/test_tch.sh).
#[cfg(test)]
pub(crate) fn test_device() -> burn::tensor::Device {
    match std::env::var("SWBURN_TEST_DEVICE").as_deref() {
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        Ok("tch") => burn::tensor::Device::libtorch(),
        Ok(other) if !other.is_empty() && other != "flex" => {
            panic!("SWBURN_TEST_DEVICE={other}: this build runs the SNGAN tests on flex or tch")
        }
        _ => burn::tensor::Device::flex(),
    }
}
