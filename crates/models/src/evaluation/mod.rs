//! Evaluation of point-cloud autoencoders as the SA-DSW paper reports it: the approximate
//! EMD of the official CUDA extension and a linear SVM on the latent codes.

mod approx_match;
mod linear_svm;

pub use approx_match::{ApproxMatch, ApproxMatchShape, approx_match};
pub use linear_svm::{DEFAULT_C, LinearSvc, SvmError};
