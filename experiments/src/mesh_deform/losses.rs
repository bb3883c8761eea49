//! The four training losses both mesh modes compare, with both meshes resampled every step.
//!
//! Losses, for a deformed template (vertices `V: [V, 3]`, template faces) and a target mesh:
//! ```text
//! chamfer      CD(S_K(deformed), S_K(target))            S_K: K fresh area-weighted surface
//! sw-surface   SW_p^p(S_K(deformed), S_K(target))             samples every step
//! sw-vertices  SW_p^p(vertices of deformed, S_V(target))  (V = number of template vertices)
//! sw-varifold  SW_p^p(varifold(deformed), varifold(target))  (deterministic, no samples)
//! sw-vertices-lumped  SW_p^p(vertices weighted by lumped mass ⅓ Σ_{f∋i} A_f, S_V(target))
//!              (the uniform vertex weights bias the density towards finely meshed regions
//!              against area-weighted target samples; DDOT's code is not public, so which
//!              weighting it uses is not known — `sw-vertices` stays the default)
//! ```
//! Chamfer and SW see the same representation (K samples of each mesh, drawn anew each step,
//! CortexODE train.py lines 207–213: `sample_points_from_meshes` on both meshes, then
//! `chamfer_distance`), so the table compares losses, not inputs. The deformed mesh's samples are
//! differentiable in its vertices (barycentric reparameterisation, `sw_loss::mesh`); the
//! target's are constants.
//!
//! Optimiser and scale as CortexODE trains (m-qiang/CortexODE train.py, `train_surf`): Adam
//! with PyTorch's ε = 1e-8 (`optim.Adam(cortexode.parameters(), lr=lr)`; Burn's default is
//! 1e-5) and the Chamfer loss ×1e3 (`loss = 1e3 * chamfer_distance(v_out, v_gt)[0]`, "scale by
//! 1e3 since the coordinates are rescaled to [-1,1]"). With Adam the scale matters only through
//! ε: at ε = 1e-5 and an unscaled Chamfer of ~1e-4 near the fit, ε is comparable to √v̂ and
//! damps the steps. Both are config values (`adam_epsilon`, `chamfer_scale`) with these
//! defaults; the SW losses are not scaled (the DDOT setting has no official scale for them).

use anyhow::{Result, bail};
use burn::optim::AdamConfig;
use burn::tensor::{Int, Tensor};
use datasets::Mesh;
use models::mesh_ode::chamfer_loss;
use sw_loss::mesh::{lumped_vertex_measure, surface_measure, varifold_measure, vertex_measure};
use sw_loss::{LossConfig, Measure};

use super::targets::target_samples;

/// The losses both modes compare.
pub const LOSSES: [&str; 5] = [
    "chamfer",
    "sw-vertices",
    "sw-surface",
    "sw-varifold",
    "sw-vertices-lumped",
];

/// The losses a config compares when it names none (the four of the shipped tables).
pub const DEFAULT_LOSSES: [&str; 4] = ["chamfer", "sw-vertices", "sw-surface", "sw-varifold"];

/// Adam's ε in CortexODE (train.py `train_surf`: `optim.Adam(cortexode.parameters(), lr=lr)`,
/// PyTorch's default).
pub const CORTEXODE_ADAM_EPSILON: f64 = 1e-8;

/// CortexODE's Chamfer weight (train.py `train_surf`: `loss = 1e3 * chamfer_distance(...)`).
pub const CORTEXODE_CHAMFER_SCALE: f64 = 1e3;

/// The Adam of both mesh modes, with its ε set explicitly (never Burn's 1e-5 default).
pub fn adam(epsilon: f64) -> AdamConfig {
    AdamConfig::new().with_epsilon(epsilon as f32)
}

/// The weight the loss `name` is trained with: `chamfer_scale` for Chamfer, 1 for the SW losses.
pub fn loss_weight(name: &str, chamfer_scale: f64) -> f64 {
    if name == "chamfer" {
        chamfer_scale
    } else {
        1.0
    }
}

/// Refuses, before the run folder exists, a loss whose training step cannot fit in
/// `[loss] memory_budget`. A step keeps the graphs of its `batch` targets until the backward
/// (f32; V, F_t: the template's vertices and faces, F: the largest target's faces):
///
/// ```text
/// sw-surface             B pairs of K and K points in R³     LossConfig::plan_memory (chunked
/// sw-vertices(-lumped)   B pairs of V and V points in R³     over the directions above the
/// sw-varifold            B pairs of F_t and F points in R⁶   budget; refused when not even one
///                                                            direction at a time fits)
/// chamfer                B dense K × K distance matrices, each held about 5 times for the
///                        backward (‖a‖² + ‖b‖², a·bᵀ, its double, the difference, the clamp):
///                        20·B·K² bytes
/// ```
/// `samples` is K with the key that sets it (`[fit] samples`, `[shapes] points`).
pub fn check_memory(
    name: &str,
    batch: usize,
    samples: (usize, &str),
    template: &Mesh,
    target_faces: usize,
    sw: &LossConfig,
) -> Result<()> {
    let (k, key) = samples;
    let (v, f) = (template.num_vertices(), template.num_faces());
    let (n, m, d, what) = match name {
        "chamfer" => {
            let need = 20u64
                .saturating_mul(batch as u64)
                .saturating_mul((k as u64).saturating_mul(k as u64));
            if need > sw.memory_budget {
                bail!(
                    "loss `chamfer`: {key} = {k} samples per mesh make {batch} dense {k} × {k} \
                     distance matrices per step, about {} with the backward, over the [loss] \
                     memory_budget of {}; lower {key}, or raise [loss] memory_budget",
                    sw_loss::memory::human_bytes(need),
                    sw_loss::memory::human_bytes(sw.memory_budget)
                );
            }
            return Ok(());
        }
        "sw-surface" => (k, k, 3, format!("{key} = {k} samples per mesh")),
        "sw-varifold" => (
            f,
            target_faces,
            6,
            format!("{f} template and {target_faces} target faces"),
        ),
        _ => (v, v, 3, format!("{v} template vertices")),
    };
    sw.plan_memory(batch, n, m, d, burn::tensor::DType::F32)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("loss `{name}` ({what}): [loss] {e}"))
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
        "sw-vertices-lumped" => {
            let v = deformed.dims()[0];
            sw.forward(
                &lumped_vertex_measure(deformed, faces)?,
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

    /// The shipped defaults of both modes are CortexODE's, and they reach the optimiser and the
    /// loss: Chamfer ×1e3, SW ×1, and one step of the Adam the loops build on a weight whose
    /// gradient is g = 1e-6 moves it by lr·g/(|g| + ε) (bias-corrected first step): 0.990 with
    /// ε = 1e-8, where Burn's default 1e-5 would give 0.091.
    #[test]
    fn the_cortexode_epsilon_and_chamfer_scale_are_the_defaults() {
        use burn::module::Module;
        use burn::nn::{Linear, LinearConfig};
        use burn::optim::GradientsParams;
        use burn::tensor::TensorData;
        let fit = super::super::config::FitConfig::default();
        let train = crate::mesh_deform_dataset::config::DatasetTrain::default();
        for (eps, scale) in [
            (fit.adam_epsilon, fit.chamfer_scale),
            (train.adam_epsilon, train.chamfer_scale),
        ] {
            assert_eq!(loss_weight("chamfer", scale), 1e3);
            for sw in &LOSSES[1..] {
                assert_eq!(loss_weight(sw, scale), 1.0);
            }
            let device = Device::default().autodiff();
            let w: Linear = LinearConfig::new(1, 1).with_bias(false).init(&device);
            let before = w.weight.val().into_scalar::<f64>();
            let g = 1e-6;
            let x = Tensor::<2>::from_data(TensorData::new(vec![g as f32], [1, 1]), &device);
            let grads = GradientsParams::from_grads(w.forward(x).sum().backward(), &w);
            let mut optim = adam(eps).init();
            let w = optim.step(1.0, w, grads);
            let moved = before - w.weight.val().into_scalar::<f64>();
            let expected = g / (g + 1e-8);
            assert!(
                (moved - expected).abs() < 1e-3,
                "moved {moved}, expected {expected}"
            );
            let _ = w.valid();
        }
    }
}
