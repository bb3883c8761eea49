//! The four training losses both mesh modes compare, with both meshes resampled every step.
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

use anyhow::{Result, bail};
use burn::tensor::{Int, Tensor};
use datasets::Mesh;
use models::mesh_ode::chamfer_loss;
use sw_loss::mesh::{surface_measure, varifold_measure, vertex_measure};
use sw_loss::{LossConfig, Measure};

use super::targets::target_samples;

/// The losses both modes compare.
pub const LOSSES: [&str; 4] = ["chamfer", "sw-vertices", "sw-surface", "sw-varifold"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use datasets::synthetic_mesh::ellipsoid;
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
}
