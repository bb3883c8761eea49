//! Per-channel heat diffusion with a learned time, in the spectral basis
//! (official `LearnedTimeDiffusion`, method `spectral`).
//!
//! ```text
//! f_out = Φ ( exp(−λ t_c) ⊙ (Φᵀ M f) )     t_c ≥ 1e-8, one time per channel, init 0
//! ```
//! Official: times are clamped in place to ≥ 1e-8 at each forward. Here the forward uses the
//! clamped value with an identity gradient (straight-through), and the training loop calls
//! [`LearnedTimeDiffusion::clamp_times`] after each optimiser step, which together match the
//! in-place clamp.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::operators::MeshOperators;

/// Official lower bound of the diffusion times (`torch.clamp(..., min=1e-8)`).
pub const MIN_DIFFUSION_TIME: f64 = 1e-8;

/// Configuration of [`LearnedTimeDiffusion`].
#[derive(Config, Debug)]
pub struct LearnedTimeDiffusionConfig {
    /// Number of channels C.
    pub channels: usize,
}

impl LearnedTimeDiffusionConfig {
    /// Times initialised to 0 (official `nn.init.constant_(self.diffusion_time, 0.0)`).
    pub fn init(&self, device: &Device) -> LearnedTimeDiffusion {
        LearnedTimeDiffusion {
            time: Param::from_tensor(Tensor::zeros([self.channels], device)),
        }
    }
}

/// Learned-time spectral diffusion.
#[derive(Module, Debug)]
pub struct LearnedTimeDiffusion {
    /// Diffusion time per channel `[C]`.
    pub time: Param<Tensor<1>>,
}

impl LearnedTimeDiffusion {
    /// The times clamped to ≥ 1e-8 with an identity gradient.
    fn times(&self) -> Tensor<1> {
        // clamp(t) + (t − sg(t)): the value is exactly clamp(t), the gradient that of t
        let t = self.time.val();
        t.clone().detach().clamp_min(MIN_DIFFUSION_TIME) + (t.clone() - t.detach())
    }

    /// Projects the stored times onto `t ≥ 1e-8` (call after an optimiser step).
    pub fn clamp_times(self) -> Self {
        Self {
            time: self
                .time
                .map(|t| t.clamp_min(MIN_DIFFUSION_TIME).detach().require_grad()),
        }
    }

    /// # Shapes
    /// `f` `[V, C]` → `[V, C]`.
    pub fn forward(&self, f: Tensor<2>, ops: &MeshOperators) -> Tensor<2> {
        let c = f.dims()[1];
        let channels = self.time.val().dims()[0];
        assert_eq!(c, channels, "diffusion expects {channels} channels");
        let spec = ops.to_basis(f); // [K, C]
        let decay = (ops.evals.clone().unsqueeze_dim::<2>(1) * self.times().unsqueeze_dim::<2>(0))
            .neg()
            .exp(); // [K, C]
        ops.from_basis(spec * decay) // [V, C]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use datasets::geometry::{SpectralOperators, cotangent_laplacian, lumped_mass};
    use datasets::synthetic_mesh::bumpy_sphere;
    use nalgebra::DMatrix;

    /// With the full basis (K = V) spectral diffusion is the heat flow
    /// `exp(−t M⁻¹L) f`, computed here independently by nalgebra's matrix exponential.
    #[test]
    fn diffusion_equals_the_heat_semigroup_exp_minus_t_lambda() {
        let mesh = bumpy_sphere(1, 0.15, 7); // 42 vertices
        let v = mesh.num_vertices();
        let spectral = SpectralOperators::compute(&mesh, v).unwrap();
        let device = Device::flex();
        let ops = MeshOperators::new(&spectral, v, &device);
        let times = [0.02f32, 0.3];
        let layer = LearnedTimeDiffusion {
            time: Param::from_tensor(Tensor::from_data(
                TensorData::new(times.to_vec(), [2]),
                &device,
            )),
        };
        let f: Vec<f32> = (0..v)
            .flat_map(|i| {
                let p = &mesh.vertices[3 * i..3 * i + 3];
                [p[0] + 0.5 * p[2] * p[2], (3.0 * p[1]).sin()]
            })
            .collect();
        let out = layer
            .forward(
                Tensor::from_data(TensorData::new(f.clone(), [v, 2]), &device),
                &ops,
            )
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        let op = DMatrix::from_fn(v, v, |i, j| l.to_dense()[i * v + j] / m[i]);
        for (c, &t) in times.iter().enumerate() {
            let heat = (op.clone() * (-(t as f64))).exp();
            let fc = nalgebra::DVector::from_fn(v, |i, _| f[2 * i + c] as f64);
            let want = heat * fc;
            for i in 0..v {
                let got = out[2 * i + c] as f64;
                assert!(
                    (got - want[i]).abs() < 2e-4,
                    "channel {c} vertex {i}: {got} vs {}",
                    want[i]
                );
            }
        }
        // one eigenvector decays by exactly exp(−λ t)
        let k = 5;
        let phi: Vec<f32> = (0..v)
            .map(|i| spectral.basis.evecs[i * v + k] as f32)
            .collect();
        let lam = spectral.basis.evals[k];
        let one = LearnedTimeDiffusion {
            time: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![0.1f32], [1]),
                &device,
            )),
        };
        let out = one
            .forward(
                Tensor::from_data(TensorData::new(phi.clone(), [v, 1]), &device),
                &ops,
            )
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let decay = (-lam * 0.1).exp();
        assert!(decay < 0.9, "the test needs a visible decay, λ = {lam}");
        for i in 0..v {
            assert!((out[i] as f64 - decay * phi[i] as f64).abs() < 1e-5);
        }
    }

    #[test]
    fn negative_times_are_clamped_with_identity_gradient() {
        let device = Device::flex().autodiff();
        let layer = LearnedTimeDiffusion {
            time: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![-0.5f32], [1]),
                &device,
            )),
        };
        let t = layer.times();
        assert!(
            (t.to_data().try_to_vec::<f32>().unwrap()[0] as f64 - MIN_DIFFUSION_TIME).abs() < 1e-12
        );
        let grads = (t * 3.0).sum().backward();
        let g = layer
            .time
            .grad(&grads)
            .unwrap()
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(g, vec![3.0]);
        let clamped = layer.clamp_times();
        assert!(clamped.time.val().to_data().try_to_vec::<f32>().unwrap()[0] > 0.0);
    }
}
