//! Global gradient-norm clipping, as PyTorch's `torch.nn.utils.clip_grad_norm_(params, max)`
//! (official `models/base_model.py` and `adaptive_refinement_one.py`: max 1.0). Burn's
//! `GradientClipping::Norm` clips each parameter tensor separately; this clips jointly.
//!
//! ```text
//! n = sqrt(Σ_params ‖g_p‖²);   c = max / (n + 1e-6);   if c < 1: g_p ← c g_p for every p
//! ```

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.total += g.powi_scalar(2).sum().into_scalar::<f32>() as f64;
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Clips the gradients of `module` to a global L2 norm of at most `max_norm`; returns the
/// norm before clipping.
pub fn clip_grad_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut norm = SquaredNorm { grads, total: 0.0 };
    module.visit(&mut norm);
    let total = norm.total.sqrt();
    let factor = max_norm / (total + 1e-6);
    if factor < 1.0 {
        module.visit(&mut Scale { grads, factor });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn clips_the_joint_norm_and_keeps_directions() {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::random([5, 3], Distribution::Normal(0.0, 1.0), &device);
        let loss = layer.forward(x).sum().mul_scalar(10.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &layer);
        let w0: Vec<f32> = grads
            .get::<2>(layer.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let b0: Vec<f32> = grads
            .get::<1>(layer.bias.as_ref().unwrap().id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let before = w0
            .iter()
            .chain(&b0)
            .map(|g| (*g as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(before > 1.0, "the test needs a norm above the threshold");
        let reported = clip_grad_norm(&layer, &mut grads, 1.0);
        assert!((reported - before).abs() < 1e-3 * before);
        let w1: Vec<f32> = grads
            .get::<2>(layer.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let b1: Vec<f32> = grads
            .get::<1>(layer.bias.as_ref().unwrap().id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let after = w1
            .iter()
            .chain(&b1)
            .map(|g| (*g as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((after - 1.0).abs() < 1e-4, "{after}");
        // every tensor scaled by the same factor (per-tensor clipping would differ)
        let ratio = w1[0] as f64 / w0[0] as f64;
        for (a, b) in w1.iter().chain(&b1).zip(w0.iter().chain(&b0)) {
            assert!((*a as f64 - ratio * *b as f64).abs() < 1e-5);
        }
        // below the threshold nothing changes
        let again = clip_grad_norm(&layer, &mut grads, 10.0);
        assert!((again - 1.0).abs() < 1e-4);
    }
}
