//! Exponential moving average of a module's weights (the "EMA generator").
//!
//! ```text
//! θ_ema ← β θ_ema + (1 − β) θ        for every trainable parameter θ
//! s_ema ← s                          for running state (batch-norm statistics)
//! ```
//! Copying the running statistics instead of averaging them is what the CV-SW code does: it
//! loads the averaged parameters into the training generator, whose buffers are current.
//! Parameters are matched by id, so `ema` must come from `current` (e.g. `current.valid()`).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

struct Collect {
    /// id → (flattened value on the plain device, trainable).
    values: HashMap<ParamId, (Tensor<1>, bool)>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let trainable = value.is_require_grad();
        self.values
            .insert(param.id, (value.inner().flatten::<1>(0, D - 1), trainable));
    }
}

struct Blend<'a> {
    values: &'a HashMap<ParamId, (Tensor<1>, bool)>,
    decay: f64,
    missing: usize,
}

impl ModuleMapper for Blend<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((current, trainable)) = self.values.get(&param.id) else {
            self.missing += 1;
            return param;
        };
        let (current, trainable, decay) = (current.clone(), *trainable, self.decay);
        param.map(|ema| {
            let current = current.to_device(&ema.device()).reshape(ema.dims());
            if trainable {
                ema.mul_scalar(decay).add(current.mul_scalar(1.0 - decay))
            } else {
                current
            }
        })
    }
}

/// Returns `ema` moved one step towards `current` with decay `decay` (0.999 for SNGAN).
///
/// # Panics
/// If a parameter of `ema` has no counterpart (by id) in `current`.
pub fn ema_update<M: Module>(ema: M, current: &M, decay: f64) -> M {
    let mut collect = Collect {
        values: HashMap::new(),
    };
    current.visit(&mut collect);
    let mut blend = Blend {
        values: &collect.values,
        decay,
        missing: 0,
    };
    let ema = ema.map(&mut blend);
    assert_eq!(
        blend.missing, 0,
        "the EMA module does not match the trained module"
    );
    ema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sngan::GeneratorConfig;
    use burn::tensor::Distribution;

    #[test]
    fn ema_blends_weights_and_copies_batch_norm_statistics() {
        let device = crate::test_device().autodiff();
        device.seed(1);
        let cfg = GeneratorConfig {
            channels: 4,
            latent: 8,
            ..Default::default()
        };
        let g = cfg.init(&device);
        let ema = g.valid();
        // Move g: a training forward updates its batch-norm statistics; scale its weights.
        let _ = g.forward(Tensor::random(
            [4, 8],
            Distribution::Normal(0.0, 1.0),
            &device,
        ));
        struct Double;
        impl ModuleMapper for Double {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                p.map(|t| t.mul_scalar(2.0).detach().require_grad())
            }
        }
        let mut before = Collect {
            values: HashMap::new(),
        };
        g.visit(&mut before);
        let g2 = g.clone().map(&mut Double);
        let ema = ema_update(ema, &g2, 0.75);
        let mut after = Collect {
            values: HashMap::new(),
        };
        ema.visit(&mut after);
        let (mut blended, mut copied) = (0, 0);
        for (id, (value, _)) in &after.values {
            let (old, trainable) = &before.values[id];
            let old: Vec<f32> = old.clone().into_data().try_to_vec::<f32>().unwrap();
            let new: Vec<f32> = value.clone().into_data().try_to_vec::<f32>().unwrap();
            for (o, n) in old.iter().zip(&new) {
                // trainable: 0.75·θ + 0.25·2θ = 1.25θ; running state: copied from g2 (2s).
                let want = if *trainable { 1.25 * o } else { 2.0 * o };
                assert!(
                    (n - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{n} vs {want}"
                );
            }
            if *trainable {
                blended += 1
            } else {
                copied += 1
            }
        }
        assert!(blended > 0 && copied > 0);
    }
}
