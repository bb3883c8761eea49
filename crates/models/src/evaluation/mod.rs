//! Evaluation of point-cloud autoencoders as the SA-DSW paper reports it: the approximate
//! EMD of the official CUDA extension, the official MLP classifier on the latent codes
//! (transfer learning) and the alternative linear SVM.

mod approx_match;
mod linear_svm;
pub mod mlp_classifier;

pub use approx_match::{ApproxMatch, ApproxMatchShape, approx_match};
pub use linear_svm::{DEFAULT_C, LinearSvc, SvmError};
pub use mlp_classifier::{
    ClassifierError, ClassifierTraining, MlpClassifier, MlpClassifierConfig, TrainedClassifier,
    train_classifier,
};
