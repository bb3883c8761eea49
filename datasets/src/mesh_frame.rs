//! Putting a target mesh into the template's frame and back.
//!
//! ```text
//! forward   p' = s (p − c)        c = centre of the bounding box, s = 1 / max_i ‖v_i − c‖
//! inverse   p  = p' / s + c
//! ```
//! After the forward map the mesh fits in the unit ball, as the template icosphere does; a
//! deformed template is mapped back with the inverse so that distances are reported in the
//! file's own units (mm for FreeSurfer surfaces): a length ℓ' in the unit frame is ℓ'/s there.

use crate::error::{DataError, Result};
use crate::mesh::Mesh;

/// The similarity `p ↦ s (p − c)` (uniform scale, no rotation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitFrame {
    /// The centre c (file units).
    pub centre: [f64; 3],
    /// The scale s (unit frame per file unit).
    pub scale: f64,
}

impl UnitFrame {
    /// The identity map (synthetic targets already live in the template's frame).
    pub fn identity() -> Self {
        Self {
            centre: [0.0; 3],
            scale: 1.0,
        }
    }

    /// The frame that centres `mesh`'s bounding box and fits it in the unit ball; an error for
    /// an empty or single-point mesh.
    pub fn fitting(mesh: &Mesh) -> Result<Self> {
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for v in mesh.vertices.chunks_exact(3) {
            for k in 0..3 {
                lo[k] = lo[k].min(v[k] as f64);
                hi[k] = hi[k].max(v[k] as f64);
            }
        }
        let centre: [f64; 3] = std::array::from_fn(|k| 0.5 * (lo[k] + hi[k]));
        let radius = mesh
            .vertices
            .chunks_exact(3)
            .map(|v| {
                (0..3)
                    .map(|k| (v[k] as f64 - centre[k]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(0f64, f64::max);
        if !(radius.is_finite() && radius > 0.0) {
            return Err(DataError::Invalid(format!(
                "cannot rescale a mesh of radius {radius} into the unit ball"
            )));
        }
        Ok(Self {
            centre,
            scale: 1.0 / radius,
        })
    }

    /// `mesh` mapped into the unit frame.
    pub fn forward(&self, mesh: &Mesh) -> Mesh {
        self.map(mesh, |p, k| self.scale * (p - self.centre[k]))
    }

    /// `mesh` mapped from the unit frame back to the file's units.
    pub fn inverse(&self, mesh: &Mesh) -> Mesh {
        self.map(mesh, |p, k| p / self.scale + self.centre[k])
    }

    fn map(&self, mesh: &Mesh, f: impl Fn(f64, usize) -> f64) -> Mesh {
        Mesh {
            vertices: mesh
                .vertices
                .iter()
                .enumerate()
                .map(|(i, &p)| f(p as f64, i % 3) as f32)
                .collect(),
            faces: mesh.faces.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic_mesh::icosphere;

    #[test]
    fn fits_the_unit_ball_and_inverts() {
        // An icosphere of radius 40 about (10, −20, 5): the frame must be exactly that.
        let mut m = icosphere(2);
        let centre = [10.0, -20.0, 5.0];
        for v in m.vertices.chunks_exact_mut(3) {
            for k in 0..3 {
                v[k] = 40.0 * v[k] + centre[k] as f32;
            }
        }
        let frame = UnitFrame::fitting(&m).unwrap();
        assert!((frame.scale - 1.0 / 40.0).abs() < 1e-6 / 40.0);
        for k in 0..3 {
            assert!((frame.centre[k] - centre[k]).abs() < 1e-4);
        }
        let unit = frame.forward(&m);
        let max_r = unit
            .vertices
            .chunks_exact(3)
            .map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt())
            .fold(0f32, f32::max);
        assert!((max_r - 1.0).abs() < 1e-5);
        let back = frame.inverse(&unit);
        assert!(
            back.vertices
                .iter()
                .zip(&m.vertices)
                .all(|(a, b)| (a - b).abs() < 1e-4)
        );
        assert_eq!(back.faces, m.faces);
        let point = Mesh::new(vec![1.0, 2.0, 3.0], vec![]).unwrap();
        assert!(UnitFrame::fitting(&point).is_err());
    }
}
