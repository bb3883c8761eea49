//! The transfer-learning classifier of the SA-DSW evaluation: an MLP on the autoencoder's latent
//! codes (hsgser/Self-Amortized-DSW, commit 4d7db40, `classification/classifier.py`
//! `MLPClassifier`, trained by `classification/classification_train.py` with
//! `classification/class_train_config.json`, tested by `classification/classification_test.py`).
//!
//! ```text
//! per hidden width h_k:  a ← ReLU(Dropout_p(BN(W_k a + b_k)))        (classifier.py lines 10–32)
//! logits = W_out a + b_out                                             [B, classes]
//! BN (training):  (a − mean_B) / √(var_B + 1e-5) · γ + β,   var_B biased (÷ B)
//!                 running_mean ← 0.9 running_mean + 0.1 mean_B
//!                 running_var  ← 0.9 running_var  + 0.1 var_B · B/(B − 1)   (PyTorch: unbiased)
//! BN (inference): (a − running_mean) / √(running_var + 1e-5) · γ + β
//! loss = mean_b −log softmax(logits_b)[label_b]                        (CrossEntropyLoss)
//! ```
//! Official sizes 256 → 512 → 256 → 40, dropout 0.5; weights Xavier uniform and biases 0.01
//! (`models/utils.py` `init_weights`), batch norm γ = 1, β = 0 (PyTorch's defaults). Training:
//! SGD lr 1e-3, momentum 0.9, weight decay 5e-3 (on every parameter, batch norm included, as
//! `torch.optim.SGD(classifier.parameters(), ..)`), batch 256 shuffled each epoch, 500 epochs,
//! the model of the epoch with the lowest mean training loss kept (`model.pth`), seed 123.
//! Burn's own `BatchNorm` keeps the biased variance as its running variance, so this module
//! has its own [`BatchNorm1d`] with PyTorch's update (the inference logits depend on it).
//! Predictions are the arg-max of the logits in inference mode (dropout off, running
//! statistics), as `classification_test.py`.

use burn::module::{Module, Param, RunningState};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::pointnet::linear_xavier;

/// What can go wrong when training or applying the classifier.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// The codes are not `[n, input]` row-major, or the labels do not match them.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// What was expected.
        expected: String,
        /// What was given.
        got: String,
    },
    /// A label outside `0..classes`.
    #[error("label {label} at index {index} is outside 0..{classes}")]
    Label {
        /// Index of the code.
        index: usize,
        /// The label.
        label: u32,
        /// Number of classes.
        classes: usize,
    },
    /// A NaN or infinite code value.
    #[error("code {index} has a non-finite value at feature {feature}")]
    NonFinite {
        /// Index of the code.
        index: usize,
        /// Feature.
        feature: usize,
    },
    /// The training loss became NaN or infinite.
    #[error("the training loss of epoch {epoch} is {loss}: training diverged")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// The mean loss.
        loss: f64,
    },
}

/// Batch normalisation over the features of `[B, F]` with PyTorch's `BatchNorm1d` semantics
/// (momentum 0.1, ε = 1e-5, unbiased running variance); training statistics on an autodiff
/// device, running statistics otherwise.
#[derive(Module, Debug)]
pub struct BatchNorm1d {
    /// Scale γ `[F]` (1 at init).
    pub gamma: Param<Tensor<1>>,
    /// Shift β `[F]` (0 at init).
    pub beta: Param<Tensor<1>>,
    /// Running mean `[F]` (0 at init).
    pub running_mean: RunningState<Tensor<1>>,
    /// Running (unbiased) variance `[F]` (1 at init).
    pub running_var: RunningState<Tensor<1>>,
}

/// PyTorch `BatchNorm1d` defaults: momentum 0.1, eps 1e-5.
const BN_MOMENTUM: f64 = 0.1;
const BN_EPS: f64 = 1e-5;

impl BatchNorm1d {
    /// γ = 1, β = 0, running mean 0 and variance 1 for `features` features.
    pub fn new(features: usize, device: &Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([features], device)),
            beta: Param::from_tensor(Tensor::zeros([features], device)),
            running_mean: RunningState::new(Tensor::zeros([features], device)),
            running_var: RunningState::new(Tensor::ones([features], device)),
        }
    }

    /// `[B, F] → [B, F]`. On an autodiff device: batch statistics, and the running ones
    /// updated (B ≥ 2); otherwise the running statistics.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [b, f] = x.dims();
        let device = x.device();
        let gamma = self.gamma.val().reshape([1, f]);
        let beta = self.beta.val().reshape([1, f]);
        if !device.is_autodiff() {
            let mean = self
                .running_mean
                .value_sync()
                .to_device(&device)
                .reshape([1, f]);
            let var = self
                .running_var
                .value_sync()
                .to_device(&device)
                .reshape([1, f]);
            return (x - mean) / var.add_scalar(BN_EPS).sqrt() * gamma + beta;
        }
        let mean = x.clone().mean_dim(0); // [1, F]
        let centred = x - mean.clone();
        let var = centred.clone().square().mean_dim(0); // biased, [1, F]
        let out = centred / var.clone().add_scalar(BN_EPS).sqrt() * gamma + beta;
        let unbiased = b as f64 / (b.max(2) - 1) as f64;
        let update = |state: &RunningState<Tensor<1>>, batch: Tensor<2>, factor: f64| {
            let old = state.value_sync().to_device(&device);
            let batch = batch.detach().reshape([f]).mul_scalar(BN_MOMENTUM * factor);
            state.update(old.mul_scalar(1.0 - BN_MOMENTUM).add(batch).detach());
        };
        update(&self.running_mean, mean, 1.0);
        update(&self.running_var, var, unbiased);
        out
    }
}

/// One hidden block: Linear → BatchNorm1d → Dropout → ReLU.
#[derive(Module, Debug)]
pub struct HiddenBlock {
    /// The affine map.
    pub linear: Linear,
    /// Its batch normalisation.
    pub norm: BatchNorm1d,
    /// Dropout (active on an autodiff device only).
    pub dropout: Dropout,
}

/// Sizes of the classifier. [`MlpClassifierConfig::official`] is the SA-DSW one.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpClassifierConfig {
    /// Code width (class_train_config.json: input_size 256).
    pub input: usize,
    /// Hidden widths (class_train_config.json: hidden_sizes "512,256").
    pub hidden: Vec<usize>,
    /// Classes (class_train_config.json: output_size 40).
    pub classes: usize,
    /// Dropout probability (class_train_config.json: dropout_p 0.5).
    pub dropout: f64,
}

impl MlpClassifierConfig {
    /// 256 → 512 → 256 → 40, dropout 0.5 (class_train_config.json).
    pub fn official() -> Self {
        Self {
            input: 256,
            hidden: vec![512, 256],
            classes: 40,
            dropout: 0.5,
        }
    }

    /// The official sizes with another code width (e.g. a smaller latent).
    pub fn with_input(self, input: usize) -> Self {
        Self { input, ..self }
    }

    /// Xavier-uniform weights, biases 0.01, batch norm γ = 1, β = 0.
    pub fn init(&self, device: &Device) -> MlpClassifier {
        let mut width = self.input;
        let mut blocks = Vec::with_capacity(self.hidden.len());
        for &h in &self.hidden {
            blocks.push(HiddenBlock {
                linear: linear_xavier(width, h, device),
                norm: BatchNorm1d::new(h, device),
                dropout: DropoutConfig::new(self.dropout).init(),
            });
            width = h;
        }
        MlpClassifier {
            blocks,
            last: linear_xavier(width, self.classes, device),
        }
    }
}

/// The MLP classifier (see the module doc).
#[derive(Module, Debug)]
pub struct MlpClassifier {
    /// Hidden blocks.
    pub blocks: Vec<HiddenBlock>,
    /// The output layer.
    pub last: Linear,
}

impl MlpClassifier {
    /// The code width it takes.
    pub fn input(&self) -> usize {
        self.blocks
            .first()
            .map_or_else(|| self.last.weight.dims()[0], |b| b.linear.weight.dims()[0])
    }

    /// Logits `[B, input] → [B, classes]` (training behaviour on an autodiff device).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let a = self.blocks.iter().fold(x, |a, block| {
            relu(
                block
                    .dropout
                    .forward(block.norm.forward(block.linear.forward(a))),
            )
        });
        self.last.forward(a)
    }

    /// The arg-max class of each code (`codes` row-major `[n, input]`), in inference mode
    /// (call on a model without autodiff: [`Module::valid`]).
    pub fn predict(&self, codes: &[f32], device: &Device) -> Vec<u32> {
        let input = self.input();
        let n = codes.len() / input.max(1);
        let mut out = Vec::with_capacity(n);
        // Chunks of 4096 codes: bounded activations for any n.
        for chunk in codes.chunks(4096 * input) {
            let rows = chunk.len() / input;
            let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [rows, input]), device);
            let classes = self.forward(x).argmax(1).reshape([rows]);
            out.extend(
                classes
                    .into_data()
                    .convert::<i64>()
                    .try_to_vec::<i64>()
                    .expect("i64")
                    .into_iter()
                    .map(|c| c as u32),
            );
        }
        out
    }
}

/// Mean cross-entropy of `logits` `[B, C]` against `labels` `[B]` (PyTorch `CrossEntropyLoss`).
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let b = labels.dims()[0];
    log_softmax(logits, 1)
        .gather(1, labels.reshape([b, 1]))
        .mean()
        .neg()
}

/// How the classifier trains. [`ClassifierTraining::official`]: class_train_config.json.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierTraining {
    /// Passes over the codes (num_epochs 500).
    pub epochs: usize,
    /// Codes per step (batch_size 256; the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// SGD step size (learning_rate 0.001).
    pub lr: f64,
    /// SGD momentum (momentum 0.9).
    pub momentum: f64,
    /// SGD weight decay (weight_decay 0.005).
    pub weight_decay: f64,
    /// Seed of the initialisation, the shuffling and the dropout masks (seed 123).
    pub seed: u64,
}

impl ClassifierTraining {
    /// class_train_config.json.
    pub fn official() -> Self {
        Self {
            epochs: 500,
            batch_size: 256,
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 5e-3,
            seed: 123,
        }
    }
}

/// A trained classifier: the model of the epoch with the lowest mean training loss.
#[derive(Debug)]
pub struct TrainedClassifier {
    /// The kept model, without autodiff (inference mode).
    pub model: MlpClassifier,
    /// The epoch it comes from (1-based).
    pub best_epoch: usize,
    /// Its mean training loss.
    pub best_loss: f64,
}

/// Checks `codes` (`[n, input]` row-major, finite) and `labels` (`[n]`, below `classes`).
fn check(
    codes: &[f32],
    labels: &[u32],
    input: usize,
    classes: usize,
) -> Result<(), ClassifierError> {
    if input == 0 || codes.len() != labels.len() * input || labels.is_empty() {
        return Err(ClassifierError::Shape {
            what: "codes",
            expected: format!("[n, {input}] with n = {} labels (n ≥ 1)", labels.len()),
            got: format!("{} values", codes.len()),
        });
    }
    if let Some(i) = codes.iter().position(|v| !v.is_finite()) {
        return Err(ClassifierError::NonFinite {
            index: i / input,
            feature: i % input,
        });
    }
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l as usize >= classes)
    {
        return Err(ClassifierError::Label {
            index,
            label,
            classes,
        });
    }
    Ok(())
}

/// Trains the classifier on `codes` (`[n, input]` row-major) with `labels` as
/// classification_train.py does (see the module doc); `on_epoch(epoch, mean_loss)` after
/// each epoch. A last batch of a single code is left out of its epoch (PyTorch's batch norm
/// refuses one sample in training).
///
/// # Errors
/// [`ClassifierError`] for codes or labels of the wrong shape, NaN codes, labels outside the
/// classes, or a diverging loss.
pub fn train_classifier(
    config: &MlpClassifierConfig,
    training: &ClassifierTraining,
    codes: &[f32],
    labels: &[u32],
    device: &Device,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<TrainedClassifier, ClassifierError> {
    check(codes, labels, config.input, config.classes)?;
    let ad = device.clone().autodiff();
    ad.seed(training.seed);
    let mut model = config.init(&ad);
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: training.momentum,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig {
            penalty: training.weight_decay as f32,
        }))
        .init();
    let mut rng = rand::rngs::StdRng::seed_from_u64(training.seed);
    let n = labels.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut best: Option<(MlpClassifier, usize, f64)> = None;
    for epoch in 1..=training.epochs {
        order.shuffle(&mut rng);
        let (mut total, mut batches) = (0.0, 0usize);
        for batch in order.chunks(training.batch_size.max(1)) {
            if batch.len() < 2 {
                continue;
            }
            let x: Vec<f32> = batch
                .iter()
                .flat_map(|&i| {
                    codes[i * config.input..(i + 1) * config.input]
                        .iter()
                        .copied()
                })
                .collect();
            let y: Vec<i64> = batch.iter().map(|&i| labels[i] as i64).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [batch.len(), config.input]), &ad);
            let y = Tensor::<1, Int>::from_data(TensorData::new(y, [batch.len()]), &ad);
            let loss = cross_entropy(model.forward(x), y);
            total += loss
                .clone()
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("f64")[0];
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(training.lr, model, grads);
        }
        let mean = total / batches.max(1) as f64;
        if !mean.is_finite() {
            return Err(ClassifierError::Diverged { epoch, loss: mean });
        }
        on_epoch(epoch, mean);
        if best.as_ref().is_none_or(|b| mean < b.2) {
            best = Some((model.valid(), epoch, mean));
        }
    }
    let (model, best_epoch, best_loss) = best.unwrap_or_else(|| (model.valid(), 0, f64::NAN));
    Ok(TrainedClassifier {
        model,
        best_epoch,
        best_loss,
    })
}

/// Accuracy of `model` on `codes` with `labels` (fraction in [0, 1]).
///
/// # Errors
/// [`ClassifierError`] for shapes, NaN codes or labels outside the classes.
pub fn accuracy(
    model: &MlpClassifier,
    codes: &[f32],
    labels: &[u32],
    device: &Device,
) -> Result<f64, ClassifierError> {
    let input = model.input();
    let classes = model.last.weight.dims()[1];
    check(codes, labels, input, classes)?;
    let predicted = model.predict(codes, device);
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(hits as f64 / labels.len() as f64)
}

#[cfg(test)]
mod tests;
