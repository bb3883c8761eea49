//! The conditioned deformer of DDOT's dataset mode: one network deforms the template towards
//! many targets, each described by a PointNet code of its point cloud.
//!
//! ```text
//! z_b = PointNet(target cloud b)                      [B, C], ‖z_b‖ = 1
//! x_b(1) = x(0) + ∫₀¹ v(x_b(t), t, z_b) dt            template vertices [V, 3] per target
//! ```

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::solver::{OdeMethod, integrate};
use super::velocity::{VelocityField, VelocityFieldConfig};
use crate::pointnet::PointNetEncoder;

/// Configuration of [`ConditionedDeformer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionedDeformerConfig {
    /// Pointwise widths of the PointNet encoder.
    pub encoder_channels: Vec<usize>,
    /// Size C of the code.
    pub code_dim: usize,
    /// Width of the velocity field's branches.
    pub width: usize,
    /// Feed t to the field (`VelocityFieldConfig::time_input`; off: autonomous as CortexODE).
    pub time_input: bool,
}

impl Default for ConditionedDeformerConfig {
    fn default() -> Self {
        Self {
            encoder_channels: vec![64, 128, 256],
            code_dim: 64,
            width: 128,
            time_input: false,
        }
    }
}

impl ConditionedDeformerConfig {
    /// Builds encoder and field on `device`.
    pub fn init(&self, device: &Device) -> ConditionedDeformer {
        ConditionedDeformer {
            encoder: PointNetEncoder::new(&self.encoder_channels, self.code_dim, device),
            field: VelocityFieldConfig {
                width: self.width,
                code_dim: self.code_dim,
                time_input: self.time_input,
            }
            .init(device),
        }
    }
}

/// PointNet encoder + code-conditioned velocity field.
#[derive(Module, Debug)]
pub struct ConditionedDeformer {
    /// Cloud → code.
    pub encoder: PointNetEncoder,
    /// v(x, t, z).
    pub field: VelocityField,
}

impl ConditionedDeformer {
    /// The template deformed towards each target.
    ///
    /// # Shapes
    /// `template: [V, 3]`, `targets: [B, P, 3]` → B tensors `[V, 3]`.
    pub fn forward(
        &self,
        template: Tensor<2>,
        targets: Tensor<3>,
        ode_steps: usize,
        method: OdeMethod,
    ) -> Vec<Tensor<2>> {
        let codes = self.encoder.forward(targets); // [B, C]
        let [b, c] = codes.dims();
        (0..b)
            .map(|i| {
                let code = codes.clone().slice([i..i + 1, 0..c]).reshape([c]); // [C]
                integrate(template.clone(), ode_steps, method, |x, t| {
                    self.field.forward(x, t, Some(&code))
                })
            })
            .collect()
    }
}
