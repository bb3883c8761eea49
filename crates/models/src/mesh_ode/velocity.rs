//! The velocity field of the deformer, in the CortexODE style (m-qiang/CortexODE model/net.py,
//! `CortexODE`: fc1 3 → C, a second C-wide branch, fc2 2C → 4C, fc3 4C → 2C, fc4 2C → 3):
//!
//! ```text
//! h_x = LeakyReLU₀.₂(W_x x + b_x)                 x ∈ R³        → R^w   (w = 128 = C)
//! h_c = LeakyReLU₀.₂(W_c [τ, z] + b_c)             code z ∈ R^C  → R^w
//! v   = W₃ σ(W₂ σ(W₁ [h_x, h_c] + b₁) + b₂) + b₃  2w → 4w → 2w → 3,  σ = LeakyReLU₀.₂
//! τ   = 1 (autonomous, the default)  or  t (time_input = true)
//! ```
//! CortexODE's field is autonomous: `forward(self, t, x)` never reads `t`, and its second
//! branch is a local feature of the MRI volume around x. With no volume here, that branch sees
//! the conditioning code (dataset mode) and a constant 1 in place of t (so with no code it is a
//! learned constant feature); `time_input = true` feeds t instead, v(x, t, z).
//! The output layer starts at a small scale (×0.1 of its initialisation) so the untrained flow
//! is close to the identity (CortexODE keeps PyTorch's default initialisation).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Configuration of [`VelocityField`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityFieldConfig {
    /// Width of the point and context branches (128 in CortexODE); the trunk is 2×, 4×, 2×.
    pub width: usize,
    /// Size C of the conditioning code z (0: no conditioning).
    pub code_dim: usize,
    /// Feed the time t to the context branch: v(x, t, z). Off by default: CortexODE's field is
    /// autonomous, v(x) (model/net.py `forward(self, t, x)` ignores t).
    pub time_input: bool,
}

impl Default for VelocityFieldConfig {
    fn default() -> Self {
        Self {
            width: 128,
            code_dim: 0,
            time_input: false,
        }
    }
}

impl VelocityFieldConfig {
    /// Builds the field on `device`.
    pub fn init(&self, device: &Device) -> VelocityField {
        let w = self.width;
        let out = LinearConfig::new(2 * w, 3).init(device);
        let out = Linear {
            // Scaled values become new leaves that require gradients again.
            weight: out
                .weight
                .map(|t| t.mul_scalar(0.1).detach().require_grad()),
            bias: out
                .bias
                .map(|b| b.map(|t| t.mul_scalar(0.1).detach().require_grad())),
        };
        VelocityField {
            point: LinearConfig::new(3, w).init(device),
            context: LinearConfig::new(1 + self.code_dim, w).init(device),
            trunk1: LinearConfig::new(2 * w, 4 * w).init(device),
            trunk2: LinearConfig::new(4 * w, 2 * w).init(device),
            out,
            time_input: self.time_input,
        }
    }
}

/// v(x, t[, z]) → R³.
#[derive(Module, Debug)]
pub struct VelocityField {
    point: Linear,
    context: Linear,
    trunk1: Linear,
    trunk2: Linear,
    out: Linear,
    time_input: bool,
}

impl VelocityField {
    /// Size of the conditioning code this field expects.
    pub fn code_dim(&self) -> usize {
        self.context.weight.dims()[0] - 1
    }

    /// Whether the field reads the time (`false`: autonomous, `t` is ignored).
    pub fn time_input(&self) -> bool {
        self.time_input
    }

    /// Velocities of `x` at time `t` (ignored by an autonomous field), conditioned on `code`
    /// (`[C]`, required iff C > 0).
    ///
    /// # Shapes
    /// `x: [N, 3]` → `[N, 3]`.
    pub fn forward(&self, x: Tensor<2>, t: f64, code: Option<&Tensor<1>>) -> Tensor<2> {
        let n = x.dims()[0];
        let device = x.device();
        let tau = if self.time_input { t } else { 1.0 };
        let time = Tensor::<1>::from_data(TensorData::new(vec![tau], [1]), (&device, x.dtype()));
        let context = match code {
            Some(z) => Tensor::cat(vec![time, z.clone()], 0),
            None => time,
        };
        assert_eq!(
            context.dims()[0],
            1 + self.code_dim(),
            "the field expects a code of size {}",
            self.code_dim()
        );
        let h_x = leaky_relu(self.point.forward(x), 0.2); // [N, w]
        let h_c = leaky_relu(self.context.forward(context.unsqueeze_dim::<2>(0)), 0.2); // [1, w]
        let width = h_c.dims()[1];
        let h = Tensor::cat(vec![h_x, h_c.expand([n, width])], 1); // [N, 2w]
        let h = leaky_relu(self.trunk1.forward(h), 0.2); // [N, 4w]
        let h = leaky_relu(self.trunk2.forward(h), 0.2); // [N, 2w]
        self.out.forward(h) // [N, 3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh_ode::{OdeMethod, integrate};
    use burn::tensor::Distribution;

    #[test]
    fn field_shapes_conditioning_and_gradients() {
        let device = Device::default().autodiff();
        let field = VelocityFieldConfig {
            width: 16,
            code_dim: 4,
            time_input: true,
        }
        .init(&device);
        assert_eq!(field.code_dim(), 4);
        let x =
            Tensor::<2>::random([10, 3], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let z = Tensor::<1>::random([4], Distribution::Normal(0.0, 1.0), &device);
        let moved = integrate(x.clone(), 4, OdeMethod::Rk4, |p, t| {
            field.forward(p, t, Some(&z))
        });
        assert_eq!(moved.dims(), [10, 3]);
        let grads = moved.sum().backward();
        assert!(x.grad(&grads).is_some());
        assert!(
            field.point.weight.grad(&grads).is_some() && field.out.weight.grad(&grads).is_some()
        );
    }

    /// The default field is autonomous like CortexODE's: the same x gives the same velocity at
    /// every t (and the time-conditioned one does not), and its widths are net.py's
    /// C → 2C → 4C → 2C → 3.
    #[test]
    fn the_default_field_is_autonomous_with_cortexode_widths() {
        let device = Device::default().autodiff();
        let cfg = VelocityFieldConfig::default();
        assert!(!cfg.time_input);
        let field = cfg.init(&device);
        assert!(!field.time_input());
        assert_eq!(field.point.weight.dims(), [3, 128]);
        assert_eq!(field.trunk1.weight.dims(), [256, 512]);
        assert_eq!(field.trunk2.weight.dims(), [512, 256]);
        assert_eq!(field.out.weight.dims(), [256, 3]);
        let x = Tensor::<2>::random([5, 3], Distribution::Normal(0.0, 1.0), &device);
        let at = |f: &VelocityField, t: f64| {
            f.forward(x.clone(), t, None)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(at(&field, 0.0), at(&field, 0.7));
        let timed = VelocityFieldConfig {
            time_input: true,
            ..VelocityFieldConfig::default()
        }
        .init(&device);
        assert_ne!(at(&timed, 0.0), at(&timed, 0.7));
    }
}
