//! The FID Inception-v3 network.
//!
//! ```text
//! x [B, 3, H, W] in [−1, 1] → bilinear resize to 299² (align_corners = false)
//!   → Conv2d_1a_3x3 (3→32, /2) → 2a (32→32) → 2b (32→64, pad 1) → max3/2
//!   → 3b (64→80, 1×1) → 4a (80→192) → max3/2                              [B, 192, 35, 35]
//!   → Mixed_5b/5c/5d (A) → 6a (B) → 6b–6e (C) → 7a (D) → 7b (E) → 7c (E, max pool)
//!   → global mean → pool3 [B, 2048] → logits = pool3 · W_fc [B, 1008]   (no bias)
//! ```
//! The logits are those of the improved-GAN Inception Score that the CV-SW code runs
//! (khainb/CV-SW Generative_model/utils/inception_score.py, `_init_inception`:
//! `w = ...get_operation_by_name("softmax/logits/MatMul").inputs[1]; logits = matmul(pool3, w)`):
//! the fc weight without its bias. The bias is loaded with the weights (the file has it) and
//! not used.
//! pytorch-fid feeds images in [0, 1] and maps them to [−1, 1] after the resize; the resize is
//! linear, so feeding [−1, 1] images straight in is the same computation.
//!
//! Weights: `pt_inception-2015-12-05-6726825d.pth` (pytorch-fid's port of the TensorFlow FID
//! graph), a PyTorch state dict, or the same tensors in a `.safetensors` file. Field names
//! follow torchvision, and Burn's PyTorch adapter renames batch-norm weights and transposes the
//! `fc` matrix.
#![allow(non_snake_case)]

use std::path::Path;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};
use burn::tensor::module::{adaptive_avg_pool2d, interpolate};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};

use super::blocks::{
    BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE, max3_s2,
};

/// The FID Inception-v3.
#[derive(Module, Debug)]
pub struct FidInception {
    Conv2d_1a_3x3: BasicConv2d,
    Conv2d_2a_3x3: BasicConv2d,
    Conv2d_2b_3x3: BasicConv2d,
    Conv2d_3b_1x1: BasicConv2d,
    Conv2d_4a_3x3: BasicConv2d,
    Mixed_5b: InceptionA,
    Mixed_5c: InceptionA,
    Mixed_5d: InceptionA,
    Mixed_6a: InceptionB,
    Mixed_6b: InceptionC,
    Mixed_6c: InceptionC,
    Mixed_6d: InceptionC,
    Mixed_6e: InceptionC,
    Mixed_7a: InceptionD,
    Mixed_7b: InceptionE,
    Mixed_7c: InceptionE,
    fc: Linear,
}

/// Features of a batch.
#[derive(Debug, Clone)]
pub struct InceptionOutput {
    /// The 2048-d pool3 features (FID).
    pub pool3: Tensor<2>,
    /// The 1008 class logits of the Inception Score, pool3 · W without the fc bias.
    pub logits: Tensor<2>,
}

/// Why the weights could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read or parsed, or tensors are missing or of the wrong shape.
    #[error("{path}: {message}")]
    Weights {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl FidInception {
    /// The network with Burn's default initialisation (load weights before use).
    pub fn new(device: &Device) -> Self {
        let c = |i, o, k, s, p| BasicConv2d::new(i, o, [k, k], s, [p, p], device);
        Self {
            Conv2d_1a_3x3: c(3, 32, 3, 2, 0),
            Conv2d_2a_3x3: c(32, 32, 3, 1, 0),
            Conv2d_2b_3x3: c(32, 64, 3, 1, 1),
            Conv2d_3b_1x1: c(64, 80, 1, 1, 0),
            Conv2d_4a_3x3: c(80, 192, 3, 1, 0),
            Mixed_5b: InceptionA::new(192, 32, device),
            Mixed_5c: InceptionA::new(256, 64, device),
            Mixed_5d: InceptionA::new(288, 64, device),
            Mixed_6a: InceptionB::new(288, device),
            Mixed_6b: InceptionC::new(768, 128, device),
            Mixed_6c: InceptionC::new(768, 160, device),
            Mixed_6d: InceptionC::new(768, 160, device),
            Mixed_6e: InceptionC::new(768, 192, device),
            Mixed_7a: InceptionD::new(768, device),
            Mixed_7b: InceptionE::new(1280, false, device),
            Mixed_7c: InceptionE::new(2048, true, device),
            fc: LinearConfig::new(2048, 1008).init(device),
        }
    }

    /// Loads the weights from a PyTorch state dict (`.pth`/`.pt`) or a `.safetensors` file
    /// with the same keys. Every tensor of the network must be found with its shape.
    pub fn load(device: &Device, path: &Path) -> Result<Self, LoadError> {
        let err = |message: String| LoadError::Weights {
            path: path.display().to_string(),
            message,
        };
        if !path.is_file() {
            return Err(err(
                "not found; download pt_inception-2015-12-05-6726825d.pth (see README, FID)".into(),
            ));
        }
        let mut net = Self::new(device);
        let is_safetensors = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
        let result = if is_safetensors {
            let mut store =
                SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter);
            net.load_from(&mut store).map_err(|e| err(format!("{e}")))?
        } else {
            let mut store = PytorchStore::from_file(path);
            net.load_from(&mut store).map_err(|e| err(format!("{e}")))?
        };
        if !result.missing.is_empty() || !result.errors.is_empty() {
            return Err(err(format!(
                "not the FID Inception weights: missing {:?}, errors {:?}",
                result.missing.iter().take(5).collect::<Vec<_>>(),
                result.errors.iter().take(5).collect::<Vec<_>>()
            )));
        }
        Ok(net)
    }

    /// Loads from the bytes of a `.safetensors` file with PyTorch keys.
    pub fn load_safetensors_bytes(device: &Device, bytes: Vec<u8>) -> Result<Self, LoadError> {
        let err = |message: String| LoadError::Weights {
            path: "<bytes>".into(),
            message,
        };
        let mut net = Self::new(device);
        let mut store =
            SafetensorsStore::from_bytes(Some(bytes)).with_from_adapter(PyTorchToBurnAdapter);
        let result = net.load_from(&mut store).map_err(|e| err(format!("{e}")))?;
        if !result.missing.is_empty() || !result.errors.is_empty() {
            return Err(err(format!(
                "missing {:?}, errors {:?}",
                result.missing, result.errors
            )));
        }
        Ok(net)
    }

    /// # Shapes
    /// `x` `[B, 3, H, W]` in [−1, 1] (any H, W) → pool3 `[B, 2048]`, logits `[B, 1008]`
    /// (pool3 · W, no bias).
    pub fn forward(&self, x: Tensor<4>) -> InceptionOutput {
        let x = interpolate(
            x,
            InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(false)
                .with_output_size([299, 299]),
        ); // [B, 3, 299, 299]
        let x = self.Conv2d_1a_3x3.forward(x); // [B, 32, 149, 149]
        let x = self.Conv2d_2a_3x3.forward(x); // [B, 32, 147, 147]
        let x = max3_s2(self.Conv2d_2b_3x3.forward(x)); // [B, 64, 73, 73]
        let x = self.Conv2d_3b_1x1.forward(x); // [B, 80, 73, 73]
        let x = max3_s2(self.Conv2d_4a_3x3.forward(x)); // [B, 192, 35, 35]
        let x = self.Mixed_5b.forward(x); // [B, 256, 35, 35]
        let x = self.Mixed_5c.forward(x); // [B, 288, 35, 35]
        let x = self.Mixed_5d.forward(x); // [B, 288, 35, 35]
        let x = self.Mixed_6a.forward(x); // [B, 768, 17, 17]
        let x = self.Mixed_6b.forward(x);
        let x = self.Mixed_6c.forward(x);
        let x = self.Mixed_6d.forward(x);
        let x = self.Mixed_6e.forward(x); // [B, 768, 17, 17]
        let x = self.Mixed_7a.forward(x); // [B, 1280, 8, 8]
        let x = self.Mixed_7b.forward(x); // [B, 2048, 8, 8]
        let x = self.Mixed_7c.forward(x); // [B, 2048, 8, 8]
        let pool3 = adaptive_avg_pool2d(x, [1, 1]).flatten::<2>(1, 3); // [B, 2048]
        InceptionOutput {
            logits: pool3.clone().matmul(self.fc.weight.val()), // [B, 1008], no bias
            pool3,
        }
    }
}
