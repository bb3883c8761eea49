//! The mesh experiments' targets: the synthetic shapes, mesh files rescaled into the template's
//! frame, their surface samples, and scoring a deformed template in the target's units.

use anyhow::{Result, anyhow, bail};
use burn::tensor::{Device, Tensor, TensorData};
use datasets::Mesh;
use datasets::mesh_frame::UnitFrame;
use datasets::synthetic_mesh::{bent_capsule, bumpy_sphere, ellipsoid, folded_sphere};
use models::mesh_ode::metrics::MeshMetrics;

/// A deformed vertex beyond this distance from the unit frame's origin means a diverged fit.
pub const DIVERGED_RADIUS: f32 = 1e6;

/// The synthetic single-shape targets.
pub const SYNTHETIC_TARGETS: [&str; 4] =
    ["ellipsoid", "bumpy-sphere", "folded-sphere", "bent-capsule"];

/// Sulci of the folded sphere: 3 grooves of depth 0.35 and angular width 0.07 rad (see
/// `datasets::synthetic_mesh::folded_sphere`).
pub fn folded(k: usize, seed: u64) -> Mesh {
    folded_sphere(k, 3, 0.35, 0.07, seed.wrapping_add(17))
}

/// A named synthetic target (already in the template's frame), `k` icosphere subdivisions.
pub fn synthetic_target(name: &str, k: usize, seed: u64) -> Result<Mesh> {
    Ok(match name {
        "ellipsoid" => ellipsoid(k, 1.0, 0.7, 0.45),
        "bumpy-sphere" => bumpy_sphere(k, 0.15, seed),
        "folded-sphere" => folded(k, seed),
        "bent-capsule" => bent_capsule(k, 0.3, 0.75),
        other => bail!(
            "[shapes] target `{other}` is not one of {} (or set target_file)",
            SYNTHETIC_TARGETS.join(", ")
        ),
    })
}

/// A target: the mesh in the template's frame, the frame, and the mesh in its file's units.
#[derive(Debug, Clone)]
pub struct Target {
    /// In the template's (unit-ball) frame: what the losses see.
    pub unit: Mesh,
    /// File units → unit frame.
    pub frame: UnitFrame,
    /// In the file's units: what the metrics are computed against.
    pub original: Mesh,
}

impl Target {
    /// A synthetic target (identity frame).
    pub fn synthetic(mesh: Mesh) -> Self {
        Self {
            unit: mesh.clone(),
            frame: UnitFrame::identity(),
            original: mesh,
        }
    }

    /// A mesh file (OBJ, PLY, OFF or FreeSurfer), rescaled into the template's frame.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let original = datasets::mesh_io::read_mesh(path)?;
        if original.num_faces() == 0 {
            bail!("{}: the mesh has no faces", path.display());
        }
        let frame =
            UnitFrame::fitting(&original).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        Ok(Self {
            unit: frame.forward(&original),
            frame,
            original,
        })
    }

    /// The full metric set of `deformed` (unit frame) in the target file's units.
    ///
    /// # Errors
    /// A deformed vertex farther than [`DIVERGED_RADIUS`] from the origin of the unit frame
    /// (the target fits in the unit ball): the fit diverged, and the metrics' spatial
    /// queries would overflow.
    pub fn score(
        &self,
        template: &Mesh,
        deformed: &Mesh,
        points: usize,
        seed: u64,
    ) -> Result<MeshMetrics> {
        if let Some(i) = (0..deformed.num_vertices()).find(|&i| {
            deformed.vertices[3 * i..3 * i + 3]
                .iter()
                .any(|x| !(x.abs() <= DIVERGED_RADIUS))
        }) {
            bail!(
                "deformed vertex {i} is at {:?} (not finite, or beyond {DIVERGED_RADIUS:e} of the unit frame): the fit diverged",
                &deformed.vertices[3 * i..3 * i + 3]
            );
        }
        Ok(MeshMetrics::compute(
            template,
            &self.frame.inverse(deformed),
            &self.original,
            points,
            seed,
        ))
    }
}

/// `k` surface samples of a (constant) target mesh as a `[k, 3]` tensor.
pub fn target_samples(mesh: &Mesh, k: usize, seed: u64, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(mesh.sample_surface(k, seed).points, [k, 3]),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::synthetic_mesh::icosphere;

    #[test]
    fn file_targets_are_scored_in_file_units() {
        // The template itself, written 40× larger about (10, −20, 5): a perfect fit in the unit
        // frame must score 0, and a unit-frame offset of 0.01 must read as 0.4 mm.
        let dir = tempfile::tempdir().unwrap();
        let mut big = icosphere(3);
        for v in big.vertices.chunks_exact_mut(3) {
            v[0] = 40.0 * v[0] + 10.0;
            v[1] = 40.0 * v[1] - 20.0;
            v[2] = 40.0 * v[2] + 5.0;
        }
        let path = dir.path().join("big.obj");
        datasets::mesh_io::write_obj(&path, &big).unwrap();
        let target = Target::from_file(&path).unwrap();
        let template = icosphere(3);
        let exact = target.score(&template, &target.unit, 5_000, 1).unwrap();
        assert!(exact.assd < 1e-3, "{}", exact.assd);
        let mut lifted = target.unit.clone();
        lifted.vertices.iter_mut().for_each(|c| *c *= 1.01);
        let off = target.score(&template, &lifted, 5_000, 1).unwrap();
        // Radius gap 0.01 in the unit frame = 0.4 file units; the two meshes' faces are
        // parallel, 0.4·h apart with h ∈ [0.996, 1] the faces' distance to the centre.
        assert!((off.assd - 0.4).abs() < 0.03, "{}", off.assd);
        assert!(Target::from_file(&dir.path().join("none.obj")).is_err());
    }
}
