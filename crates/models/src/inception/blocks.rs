//! The blocks of the FID Inception-v3, named like torchvision's modules so that PyTorch
//! checkpoints load by key (`Mixed_5b.branch5x5_1.conv.weight`, …).
//!
//! ```text
//! BasicConv2d   conv (no bias) → BatchNorm (ε = 0.001) → ReLU
//! A (5b–5d)     [1×1 64 | 1×1 48 → 5×5 64 | 1×1 64 → 3×3 96 → 3×3 96 | avg3 → 1×1 pool]
//! B (6a)        [3×3/2 384 | 1×1 64 → 3×3 96 → 3×3/2 96 | max3/2]
//! C (6b–6e)     [1×1 192 | 1×1 c → 1×7 c → 7×1 192 | 1×1 c → 7×1 → 1×7 → 7×1 → 1×7 192 | avg3 → 1×1 192]
//! D (7a)        [1×1 192 → 3×3/2 320 | 1×1 192 → 1×7 → 7×1 → 3×3/2 192 | max3/2]
//! E (7b, 7c)    [1×1 320 | 1×1 384 → (1×3 | 3×1) 384 | 1×1 448 → 3×3 384 → (1×3 | 3×1) 384 | pool → 1×1 192]
//! ```
//! The FID variants (pytorch-fid's `FIDInceptionA/C/E_1/E_2`) average-pool without counting
//! the zero padding (TensorFlow's behaviour), and the last E block max-pools instead.
#![allow(non_snake_case)]

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};

/// Convolution without bias, batch norm (ε = 0.001), ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    conv: Conv2d,
    bn: BatchNorm,
}

impl BasicConv2d {
    /// `kernel` `[kh, kw]`, `stride`, `padding` `[ph, pw]`.
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: [usize; 2],
        stride: usize,
        padding: [usize; 2],
        device: &Device,
    ) -> Self {
        let [ph, pw] = padding;
        Self {
            conv: Conv2dConfig::new([c_in, c_out], kernel)
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(c_out).with_epsilon(1e-3).init(device),
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, c_out, H', W']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(self.conv.forward(x)))
    }
}

fn conv(c_in: usize, c_out: usize, k: usize, device: &Device) -> BasicConv2d {
    BasicConv2d::new(c_in, c_out, [k, k], 1, [k / 2, k / 2], device)
}

fn conv_s2(c_in: usize, c_out: usize, device: &Device) -> BasicConv2d {
    BasicConv2d::new(c_in, c_out, [3, 3], 2, [0, 0], device)
}

fn row(c_in: usize, c_out: usize, k: usize, device: &Device) -> BasicConv2d {
    BasicConv2d::new(c_in, c_out, [1, k], 1, [0, k / 2], device)
}

fn col(c_in: usize, c_out: usize, k: usize, device: &Device) -> BasicConv2d {
    BasicConv2d::new(c_in, c_out, [k, 1], 1, [k / 2, 0], device)
}

/// 3×3 average pool, stride 1, padding 1, padded zeros not counted (TensorFlow).
fn avg3_tf(x: Tensor<4>) -> Tensor<4> {
    avg_pool2d(
        x,
        AvgPoolOptions::new([3, 3])
            .with_stride([1, 1])
            .with_padding([1, 1])
            .with_count_include_pad(false),
    )
}

/// 3×3 max pool, stride 2, no padding.
pub fn max3_s2(x: Tensor<4>) -> Tensor<4> {
    max_pool2d(x, MaxPoolOptions::new([3, 3]).with_stride([2, 2]))
}

/// Inception A (FID variant).
#[derive(Module, Debug)]
pub struct InceptionA {
    branch1x1: BasicConv2d,
    branch5x5_1: BasicConv2d,
    branch5x5_2: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl InceptionA {
    /// `c_in` → 224 + `pool_features` channels.
    pub fn new(c_in: usize, pool_features: usize, device: &Device) -> Self {
        Self {
            branch1x1: conv(c_in, 64, 1, device),
            branch5x5_1: conv(c_in, 48, 1, device),
            branch5x5_2: conv(48, 64, 5, device),
            branch3x3dbl_1: conv(c_in, 64, 1, device),
            branch3x3dbl_2: conv(64, 96, 3, device),
            branch3x3dbl_3: conv(96, 96, 3, device),
            branch_pool: conv(c_in, pool_features, 1, device),
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, 224 + pool_features, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self
            .branch5x5_2
            .forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        let bp = self.branch_pool.forward(avg3_tf(x));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// Inception B (grid reduction 35 → 17).
#[derive(Module, Debug)]
pub struct InceptionB {
    branch3x3: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
}

impl InceptionB {
    /// `c_in` → 480 + `c_in` channels.
    pub fn new(c_in: usize, device: &Device) -> Self {
        Self {
            branch3x3: conv_s2(c_in, 384, device),
            branch3x3dbl_1: conv(c_in, 64, 1, device),
            branch3x3dbl_2: conv(64, 96, 3, device),
            branch3x3dbl_3: conv_s2(96, 96, device),
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, 480 + c_in, (H−3)/2+1, …]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        Tensor::cat(vec![b3, bd, max3_s2(x)], 1)
    }
}

/// Inception C (FID variant), factorised 7×7.
#[derive(Module, Debug)]
pub struct InceptionC {
    branch1x1: BasicConv2d,
    branch7x7_1: BasicConv2d,
    branch7x7_2: BasicConv2d,
    branch7x7_3: BasicConv2d,
    branch7x7dbl_1: BasicConv2d,
    branch7x7dbl_2: BasicConv2d,
    branch7x7dbl_3: BasicConv2d,
    branch7x7dbl_4: BasicConv2d,
    branch7x7dbl_5: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl InceptionC {
    /// `c_in` → 768 channels with `c7` channels inside the 7×7 branches.
    pub fn new(c_in: usize, c7: usize, device: &Device) -> Self {
        Self {
            branch1x1: conv(c_in, 192, 1, device),
            branch7x7_1: conv(c_in, c7, 1, device),
            branch7x7_2: row(c7, c7, 7, device),
            branch7x7_3: col(c7, 192, 7, device),
            branch7x7dbl_1: conv(c_in, c7, 1, device),
            branch7x7dbl_2: col(c7, c7, 7, device),
            branch7x7dbl_3: row(c7, c7, 7, device),
            branch7x7dbl_4: col(c7, c7, 7, device),
            branch7x7dbl_5: row(c7, 192, 7, device),
            branch_pool: conv(c_in, 192, 1, device),
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, 768, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let mut b7 = self.branch7x7_1.forward(x.clone());
        b7 = self.branch7x7_3.forward(self.branch7x7_2.forward(b7));
        let mut bd = self.branch7x7dbl_1.forward(x.clone());
        for layer in [
            &self.branch7x7dbl_2,
            &self.branch7x7dbl_3,
            &self.branch7x7dbl_4,
            &self.branch7x7dbl_5,
        ] {
            bd = layer.forward(bd);
        }
        let bp = self.branch_pool.forward(avg3_tf(x));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// Inception D (grid reduction 17 → 8).
#[derive(Module, Debug)]
pub struct InceptionD {
    branch3x3_1: BasicConv2d,
    branch3x3_2: BasicConv2d,
    branch7x7x3_1: BasicConv2d,
    branch7x7x3_2: BasicConv2d,
    branch7x7x3_3: BasicConv2d,
    branch7x7x3_4: BasicConv2d,
}

impl InceptionD {
    /// `c_in` → 512 + `c_in` channels.
    pub fn new(c_in: usize, device: &Device) -> Self {
        Self {
            branch3x3_1: conv(c_in, 192, 1, device),
            branch3x3_2: conv_s2(192, 320, device),
            branch7x7x3_1: conv(c_in, 192, 1, device),
            branch7x7x3_2: row(192, 192, 7, device),
            branch7x7x3_3: col(192, 192, 7, device),
            branch7x7x3_4: conv_s2(192, 192, device),
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, 512 + c_in, (H−3)/2+1, …]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self
            .branch3x3_2
            .forward(self.branch3x3_1.forward(x.clone()));
        let mut b7 = self.branch7x7x3_1.forward(x.clone());
        for layer in [
            &self.branch7x7x3_2,
            &self.branch7x7x3_3,
            &self.branch7x7x3_4,
        ] {
            b7 = layer.forward(b7);
        }
        Tensor::cat(vec![b3, b7, max3_s2(x)], 1)
    }
}

/// Inception E (FID variants): `max_pool` selects pytorch-fid's `FIDInceptionE_2`.
#[derive(Module, Debug)]
pub struct InceptionE {
    branch1x1: BasicConv2d,
    branch3x3_1: BasicConv2d,
    branch3x3_2a: BasicConv2d,
    branch3x3_2b: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3a: BasicConv2d,
    branch3x3dbl_3b: BasicConv2d,
    branch_pool: BasicConv2d,
    max_pool: bool,
}

impl InceptionE {
    /// `c_in` → 2048 channels.
    pub fn new(c_in: usize, max_pool: bool, device: &Device) -> Self {
        Self {
            branch1x1: conv(c_in, 320, 1, device),
            branch3x3_1: conv(c_in, 384, 1, device),
            branch3x3_2a: row(384, 384, 3, device),
            branch3x3_2b: col(384, 384, 3, device),
            branch3x3dbl_1: conv(c_in, 448, 1, device),
            branch3x3dbl_2: conv(448, 384, 3, device),
            branch3x3dbl_3a: row(384, 384, 3, device),
            branch3x3dbl_3b: col(384, 384, 3, device),
            branch_pool: conv(c_in, 192, 1, device),
            max_pool,
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W]` → `[B, 2048, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b3 = self.branch3x3_1.forward(x.clone());
        let b3 = Tensor::cat(
            vec![
                self.branch3x3_2a.forward(b3.clone()),
                self.branch3x3_2b.forward(b3),
            ],
            1,
        );
        let bd = self
            .branch3x3dbl_2
            .forward(self.branch3x3dbl_1.forward(x.clone()));
        let bd = Tensor::cat(
            vec![
                self.branch3x3dbl_3a.forward(bd.clone()),
                self.branch3x3dbl_3b.forward(bd),
            ],
            1,
        );
        let pooled = if self.max_pool {
            max_pool2d(
                x,
                MaxPoolOptions::new([3, 3])
                    .with_stride([1, 1])
                    .with_padding([1, 1]),
            )
        } else {
            avg3_tf(x)
        };
        let bp = self.branch_pool.forward(pooled);
        Tensor::cat(vec![b1, b3, bd, bp], 1)
    }
}
