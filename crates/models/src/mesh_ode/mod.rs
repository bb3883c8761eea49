//! The neural-ODE mesh deformer of DDOT: a velocity field v(x, t[, z]) integrated over
//! t ∈ [0, 1] moves every template vertex; the map is a diffeomorphism, so the mesh keeps its
//! topology.

mod chamfer;
mod conditioned;
pub mod metrics;
mod solver;
mod velocity;

pub use chamfer::chamfer_loss;
pub use conditioned::{ConditionedDeformer, ConditionedDeformerConfig};
pub use solver::{OdeMethod, integrate};
pub use velocity::{VelocityField, VelocityFieldConfig};
