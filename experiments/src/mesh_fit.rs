//! What the two mesh experiments (single shape and dataset mode) share: the targets, the four
//! training losses with both meshes resampled every step, and the metric table.
//!
//! Losses, for a deformed template (vertices `V: [V, 3]`, template faces) and a target mesh:
//! ```text
//! chamfer      CD(S_K(deformed), S_K(target))            S_K: K fresh area-weighted surface
//! sw-surface   SW_p^p(S_K(deformed), S_K(target))             samples every step
//! sw-vertices  SW_p^p(vertices of deformed, S_V(target))  (V = number of template vertices)
//! sw-varifold  SW_p^p(varifold(deformed), varifold(target))  (deterministic, no samples)
//! ```
//! Chamfer and SW see the same representation (K samples of each mesh, drawn anew each step,
//! CortexODE train.py lines 207–213: `sample_points_from_meshes` on both meshes, then
//! `chamfer_distance`), so the table compares losses, not inputs. The deformed mesh's samples are
//! differentiable in its vertices (barycentric reparameterisation, `sw_loss::mesh`); the
//! target's are constants. CortexODE scales its Chamfer by 1e3 (train.py line 213); with Adam the
//! scale only changes the role of ε, and we leave it at 1.

use anyhow::{Result, anyhow, bail};
use burn::tensor::{Device, Int, Tensor, TensorData};
use datasets::Mesh;
use datasets::mesh_frame::UnitFrame;
use datasets::synthetic_mesh::{bent_capsule, bumpy_sphere, ellipsoid, folded_sphere};
use models::mesh_ode::chamfer_loss;
use models::mesh_ode::metrics::MeshMetrics;
use sw_loss::mesh::{surface_measure, varifold_measure, vertex_measure};
use sw_loss::{LossConfig, Measure};

/// A deformed vertex beyond this distance from the unit frame's origin means a diverged fit.
pub const DIVERGED_RADIUS: f32 = 1e6;

/// The losses both modes compare.
pub const LOSSES: [&str; 4] = ["chamfer", "sw-vertices", "sw-surface", "sw-varifold"];

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

/// The training loss `name` between a deformed template and a target, resampling both meshes
/// (`samples` points each; the target's with `seed`) — see the module doc.
#[allow(clippy::too_many_arguments)]
pub fn training_loss(
    name: &str,
    deformed: &Tensor<2>,
    faces: &Tensor<2, Int>,
    target: &Mesh,
    target_varifold: Option<&Measure>,
    samples: usize,
    seed: u64,
    sw: &LossConfig,
    normal_weight: f64,
) -> Result<Tensor<1>> {
    let device = deformed.device();
    let surface = |k: usize| -> Result<Tensor<2>> {
        let m = surface_measure(deformed, faces, k)?;
        Ok(m.points().clone().reshape([k, 3]))
    };
    Ok(match name {
        "chamfer" => chamfer_loss(
            surface(samples)?,
            target_samples(target, samples, seed, &device),
        ),
        "sw-surface" => sw.forward(
            &Measure::single(surface(samples)?),
            &Measure::single(target_samples(target, samples, seed, &device)),
        )?,
        "sw-vertices" => {
            let v = deformed.dims()[0];
            sw.forward(
                &vertex_measure(deformed.clone()),
                &Measure::single(target_samples(target, v, seed, &device)),
            )?
        }
        "sw-varifold" => {
            let own;
            let target_varifold = match target_varifold {
                Some(m) => m,
                None => {
                    own = varifold_measure(
                        &target.vertices_tensor(&device),
                        &target.faces_tensor(&device),
                        normal_weight,
                    )?;
                    &own
                }
            };
            sw.forward(
                &varifold_measure(deformed, faces, normal_weight)?,
                target_varifold,
            )?
        }
        other => bail!("unknown loss `{other}`"),
    })
}

/// The columns of every mesh comparison table (after `loss`).
pub const COLUMNS: [&str; 7] = [
    "chamfer",
    "assd",
    "hd90",
    "sif_percent",
    "flipped",
    "normal_consistency",
    "seconds",
];

/// The CSV cells of [`COLUMNS`].
pub fn cells(m: &MeshMetrics, seconds: f64) -> [String; 7] {
    [
        format!("{:.6e}", m.chamfer),
        format!("{:.6e}", m.assd),
        format!("{:.6e}", m.hd90),
        format!("{:.4}", m.sif_percent),
        m.flipped.to_string(),
        format!("{:.6}", m.normal_consistency),
        format!("{seconds:.2}"),
    ]
}

/// The comparison table as text, one row per loss, and the best loss in each column (rows not
/// named after a loss, such as the undeformed template, are shown but not ranked).
pub fn table_text(rows: &[(String, MeshMetrics, f64)]) -> String {
    let mut text = format!(
        "\n{:<13}{:>12}{:>11}{:>11}{:>8}{:>9}{:>8}{:>9}\n",
        "loss", "chamfer", "assd", "hd90", "sif %", "flipped", "nc", "seconds"
    );
    for (loss, m, s) in rows {
        text += &format!(
            "{:<13}{:>12.3e}{:>11.4}{:>11.4}{:>8.3}{:>9}{:>8.4}{:>9.1}\n",
            loss, m.chamfer, m.assd, m.hd90, m.sif_percent, m.flipped, m.normal_consistency, s
        );
    }
    let losses: Vec<_> = rows
        .iter()
        .filter(|r| LOSSES.contains(&r.0.as_str()))
        .collect();
    if losses.len() > 1 {
        // The loss with the smallest value, or every loss sharing it ("tie: a = b").
        let best = |key: &dyn Fn(&MeshMetrics) -> f64| {
            let min = losses
                .iter()
                .map(|r| key(&r.1))
                .fold(f64::INFINITY, f64::min);
            let winners: Vec<&str> = losses
                .iter()
                .filter(|r| key(&r.1) == min)
                .map(|r| r.0.as_str())
                .collect();
            match winners.len() {
                1 => winners[0].to_string(),
                n if n == losses.len() => "all equal".to_string(),
                _ => format!("tie: {}", winners.join(" = ")),
            }
        };
        text += &format!(
            "best: chamfer {}, assd {}, hd90 {}, sif % {}, flipped {}, nc {}\n",
            best(&|m| m.chamfer),
            best(&|m| m.assd),
            best(&|m| m.hd90),
            best(&|m| m.sif_percent),
            best(&|m| m.flipped as f64),
            best(&|m| -m.normal_consistency),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::synthetic_mesh::icosphere;

    #[test]
    fn every_loss_resamples_both_meshes_and_has_gradients() {
        let device = Device::default().autodiff();
        device.seed(3);
        let template = icosphere(1);
        let target = ellipsoid(2, 1.0, 0.7, 0.5);
        let faces = template.faces_tensor(&device);
        let sw = LossConfig::default();
        for name in LOSSES {
            let v = template.vertices_tensor(&device).require_grad();
            let value = |seed| {
                training_loss(name, &v, &faces, &target, None, 64, seed, &sw, 0.1)
                    .unwrap()
                    .into_scalar::<f64>()
            };
            let (a, b) = (value(1), value(2));
            if name == "sw-varifold" {
                // Deterministic: no samples (the directions are drawn anew, so compare loosely).
                assert!(a.is_finite() && b.is_finite());
            } else {
                // A new target sample (and a new own sample) each step: the value changes.
                assert_ne!(a, b, "{name}");
            }
            let loss = training_loss(name, &v, &faces, &target, None, 64, 5, &sw, 0.1).unwrap();
            let g: Vec<f32> = v
                .grad(&loss.backward())
                .unwrap()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            assert!(
                g.iter().any(|x| *x != 0.0) && g.iter().all(|x| x.is_finite()),
                "{name}"
            );
        }
        assert!(
            training_loss(
                "emd",
                &template.vertices_tensor(&device),
                &faces,
                &target,
                None,
                8,
                0,
                &sw,
                0.1
            )
            .is_err()
        );
    }

    #[test]
    fn the_table_names_the_best_loss_and_ties() {
        let m = |chamfer, sif_percent| MeshMetrics {
            chamfer,
            assd: chamfer,
            hd90: chamfer,
            sif_percent,
            flipped: 0,
            normal_consistency: 1.0 - chamfer,
        };
        let rows = vec![
            ("template".to_string(), m(0.0, 0.0), 0.0),
            ("chamfer".to_string(), m(0.2, 1.0), 1.0),
            ("sw-surface".to_string(), m(0.1, 1.0), 1.0),
            ("sw-varifold".to_string(), m(0.3, 2.0), 1.0),
        ];
        let text = table_text(&rows);
        assert!(
            text.contains("best: chamfer sw-surface, assd sw-surface"),
            "{text}"
        );
        assert!(
            text.contains("sif % tie: chamfer = sw-surface, flipped all equal, nc sw-surface"),
            "{text}"
        );
    }

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
