//! The neural-ODE mesh deformer of DDOT: a velocity field v(x, t[, z]) integrated over
//! t ∈ [0, 1] moves every template vertex.
//!
//! What the flow guarantees: the **exact** flow of a Lipschitz field is a diffeomorphism of R³,
//! so the deformed surface would keep the template's topology, never self-intersect and never
//! flip a face. The **discrete** map we compute — a few fixed Euler or RK4 steps of an
//! unconstrained MLP field, applied to the vertices only, with straight edges between them — has
//! no such guarantee: a step longer than the field's Lipschitz scale can fold the surface, and
//! flat triangles between moved vertices can cross even when the vertex map is injective.
//! Each run therefore reports the percentage of self-intersecting faces and the number of
//! triangles whose normal reversed against the template's ([`metrics`]).

mod chamfer;
mod conditioned;
pub mod metrics;
pub mod self_intersection;
mod solver;
pub mod surface_distance;
mod velocity;

pub use chamfer::chamfer_loss;
pub use conditioned::{ConditionedDeformer, ConditionedDeformerConfig};
pub use solver::{OdeMethod, integrate};
pub use velocity::{VelocityField, VelocityFieldConfig};
