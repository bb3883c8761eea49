//! Numerical faults in training: a non-finite loss or gradient stops the run at that step,
//! before the optimiser applies it, so no NaN weights are ever saved as "latest" or "best".
//!
//! ```text
//! loss ℓ_t finite?                      one host read (the loops read the loss anyway)
//! ∀ parameters θ: ∇_θ ℓ_t finite?       one reduction per parameter, concatenated, one host read
//! ```
//!
//! The error names the step, the loss (or the first parameter, by its module path, whose
//! gradient is not finite) and what the user still has: the last good checkpoint and the
//! command that continues from it, or that this experiment keeps none.

use std::path::Path;

use anyhow::{Error, anyhow};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Collects, per float parameter with a gradient, its module path and `all(isfinite(∇))`
/// (a `[1]` tensor, still on the device).
struct FiniteGrads<'a> {
    grads: &'a GradientsParams,
    path: Vec<String>,
    names: Vec<String>,
    flags: Vec<Tensor<1>>,
}

impl ModuleVisitor for FiniteGrads<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.names.push(self.path.join("."));
            self.flags.push(g.is_finite().all().float());
        }
    }
}

/// The module path (e.g. `blocks.2.conv1.weight`) of the first parameter of `module` whose
/// gradient in `grads` has a NaN or ±∞, or `None` when all are finite. One device→host read.
pub fn first_non_finite_gradient<M: Module>(module: &M, grads: &GradientsParams) -> Option<String> {
    let mut v = FiniteGrads {
        grads,
        path: Vec::new(),
        names: Vec::new(),
        flags: Vec::new(),
    };
    module.visit(&mut v);
    if v.flags.is_empty() {
        return None;
    }
    let flags = Tensor::cat(v.flags, 0)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    flags
        .iter()
        .position(|&ok| ok != 1.0)
        .map(|i| v.names[i].clone())
}

/// What survives a stopped run, for the error message.
#[derive(Debug, Clone, Copy)]
pub enum Kept<'a> {
    /// A run folder with checkpoints (its latest one, if any, is named).
    Checkpoints(&'a Path),
    /// An experiment that writes no checkpoints (nothing of the step was saved).
    Nothing,
}

fn kept_line(kept: Kept) -> String {
    match kept {
        Kept::Checkpoints(run) => match crate::checkpoint::latest_name(run) {
            Some(name) => format!(
                "the last good checkpoint is {name} (continue with: experiments --resume {}, e.g. with a lower learning rate via --set)",
                run.display()
            ),
            None => "no checkpoint was written yet".to_string(),
        },
        Kept::Nothing => {
            "this experiment keeps no checkpoints; outputs of earlier steps are as they were"
                .to_string()
        }
    }
}

/// The context of an error raised while computing a step's loss (e.g. a non-finite input
/// refused by `sw-loss`): where training stopped and what is kept.
pub fn stopped_at(step: &str, kept: Kept) -> String {
    format!(
        "training stopped at {step} (nothing of this step was applied or saved; {})",
        kept_line(kept)
    )
}

/// `Err` when `value` (the loss `what` at `step`, e.g. "generator step 12") is not finite.
pub fn check_loss(value: f64, what: &str, step: &str, kept: Kept) -> Result<(), Error> {
    if value.is_finite() {
        return Ok(());
    }
    Err(anyhow!(
        "training stopped at {step}: the {what} is {value} (training diverged; a lower learning rate usually helps); nothing of this step was applied or saved; {}",
        kept_line(kept)
    ))
}

/// `Err` when a gradient of `module` in `grads` (of the loss `what`) is not finite.
pub fn check_gradients<M: Module>(
    module: &M,
    grads: &GradientsParams,
    what: &str,
    step: &str,
    kept: Kept,
) -> Result<(), Error> {
    match first_non_finite_gradient(module, grads) {
        None => Ok(()),
        Some(name) => Err(non_finite_gradient(what, &format!("`{name}`"), step, kept)),
    }
}

/// The error of a gradient of the loss `what` with respect to `of` that is not finite.
pub fn non_finite_gradient(what: &str, of: &str, step: &str, kept: Kept) -> Error {
    anyhow!(
        "training stopped at {step}: the gradient of the {what} with respect to {of} is not finite (NaN or ±inf); nothing of this step was applied or saved; {}",
        kept_line(kept)
    )
}

/// One training step's backward, checked: reads the loss `[1]` (the value returned), refuses
/// it if not finite, runs the backward for `module`'s parameters and refuses a non-finite
/// gradient — what every training loop does between its forward and its optimiser step.
pub fn checked_backward<M: Module>(
    loss: Tensor<1>,
    module: &M,
    what: &str,
    step: &str,
    kept: Kept,
) -> Result<(f64, GradientsParams), Error> {
    let value = loss.clone().into_scalar::<f64>();
    check_loss(value, what, step, kept)?;
    let grads = GradientsParams::from_grads(loss.backward(), module);
    check_gradients(module, &grads, what, step, kept)?;
    Ok((value, grads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    #[derive(Module, Debug)]
    struct Two {
        first: Linear,
        second: Linear,
    }

    fn grads_of(model: &Two, x: Tensor<2>) -> GradientsParams {
        let y = model.second.forward(model.first.forward(x));
        GradientsParams::from_grads(y.sum().backward(), model)
    }

    /// Finite input: no parameter flagged. A NaN in the input reaches every gradient of
    /// `first.weight` (∂/∂W₁ = xᵀ…) first in module order; an ∞ weight in `second` makes the
    /// gradient of `first` NaN (∞·0 products) — the first flagged is still named by path.
    #[test]
    fn the_first_non_finite_gradient_is_named_by_its_module_path() {
        let device = Device::default().autodiff();
        let model = Two {
            first: LinearConfig::new(3, 4).init(&device),
            second: LinearConfig::new(4, 1).init(&device),
        };
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3]), &device);
        assert_eq!(
            first_non_finite_gradient(&model, &grads_of(&model, x)),
            None
        );
        let bad = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, f32::NAN, 3.0], [1, 3]),
            &device,
        );
        assert_eq!(
            first_non_finite_gradient(&model, &grads_of(&model, bad)).as_deref(),
            Some("first.weight")
        );
        let err = check_gradients(
            &model,
            &grads_of(
                &model,
                Tensor::from_data(
                    TensorData::new(vec![f32::INFINITY, 0.0, 0.0], [1, 3]),
                    &device,
                ),
            ),
            "loss",
            "step 7",
            Kept::Nothing,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("training stopped at step 7"), "{err}");
        assert!(err.contains("`first.weight`"), "{err}");
        assert!(err.contains("keeps no checkpoints"), "{err}");
    }

    #[test]
    fn a_non_finite_loss_names_step_and_last_checkpoint() {
        let run = tempfile::tempdir().unwrap();
        crate::checkpoint::save(
            run.path(),
            "step-4",
            4,
            0.0,
            crate::checkpoint::Role::Latest,
            |_| Ok(()),
        )
        .unwrap();
        assert!(check_loss(1.5, "G loss", "step 5", Kept::Checkpoints(run.path())).is_ok());
        let err = check_loss(
            f64::NAN,
            "generator loss",
            "generator step 5",
            Kept::Checkpoints(run.path()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("training stopped at generator step 5: the generator loss is NaN"),
            "{err}"
        );
        assert!(err.contains("the last good checkpoint is step-4"), "{err}");
        let err = check_loss(
            f64::INFINITY,
            "loss",
            "epoch 1",
            Kept::Checkpoints(run.path().join("none").as_path()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("is inf") && err.contains("no checkpoint was written yet"),
            "{err}"
        );
    }
}
