//! The linear family of amortized models (Nguyen & Ho, NeurIPS 2022):
//!
//! ```text
//! linear     θ = normalize( W [X; Y]ᵀ + b ),          W: Linear(2m → 1) over the point axis
//! glinear    θ = linear( g(X), g(Y) ),   g = Linear(3,3) ∘ Sigmoid ∘ Linear(3,3) per point
//! nonlinear  θ = normalize( g( W [X; Y]ᵀ + b ) )
//! ```

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use sw_loss::directions::normalize_rows;

/// Which member of the linear family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinearKind {
    /// `linear`.
    Linear,
    /// `glinear`.
    Glinear,
    /// `nonlinear`.
    Nonlinear,
}

/// The Linear(3,3)–Sigmoid–Linear(3,3) map g.
#[derive(Module, Debug)]
pub struct PointMap {
    first: Linear,
    second: Linear,
}

impl PointMap {
    fn new(device: &Device) -> Self {
        Self {
            first: LinearConfig::new(3, 3).init(device),
            second: LinearConfig::new(3, 3).init(device),
        }
    }

    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.second.forward(sigmoid(self.first.forward(x)))
    }
}

/// `linear`, `glinear` or `nonlinear`.
#[derive(Module, Debug)]
pub struct LinearAmortizer {
    across_points: Linear,
    before: Option<PointMap>,
    after: Option<PointMap>,
}

impl LinearAmortizer {
    /// A model for clouds of `points` points.
    pub fn new(kind: LinearKind, points: usize, device: &Device) -> Self {
        Self {
            across_points: LinearConfig::new(2 * points, 1).init(device),
            before: (kind == LinearKind::Glinear).then(|| PointMap::new(device)),
            after: (kind == LinearKind::Nonlinear).then(|| PointMap::new(device)),
        }
    }

    /// `x, y: [B, m, 3]` → `[B, 3]`.
    pub fn forward(&self, x: Tensor<3>, y: Tensor<3>) -> Tensor<2> {
        let (x, y) = match &self.before {
            Some(g) => (g.forward(x), g.forward(y)),
            None => (x, y),
        };
        let b = x.dims()[0];
        let joint = Tensor::cat(vec![x, y], 1).swap_dims(1, 2); // [B, 3, 2m]
        let theta = self.across_points.forward(joint).reshape([b, 3]); // [B, 3]
        let theta = match &self.after {
            Some(g) => g.forward(theta),
            None => theta,
        };
        normalize_rows(theta)
    }
}
