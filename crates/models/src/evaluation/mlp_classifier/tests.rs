//! The classifier against its PyTorch twin (scripts/fixtures/mlp_classifier.py →
//! tests/data/mlp_classifier.json), and its own properties.

use burn::module::{Module, Param};
use burn::nn::{DropoutConfig, Linear};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use serde_json::Value;

use super::*;

fn fixture() -> Value {
    let path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/data/mlp_classifier.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn t1(v: &Value, device: &Device) -> Tensor<1> {
    let x = floats(v);
    let n = x.len();
    Tensor::from_data(TensorData::new(x, [n]), (device, DType::F64))
}

fn t2(v: &Value, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(floats(v), shape), (device, DType::F64))
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs PyTorch {w}"
        );
    }
}

/// A linear layer from PyTorch's `[out, in]` weight.
fn linear_from(p: &Value, device: &Device) -> Linear {
    let shape = p["shape"].as_array().unwrap();
    let (out, inp) = (
        shape[0].as_u64().unwrap() as usize,
        shape[1].as_u64().unwrap() as usize,
    );
    Linear {
        weight: Param::from_tensor(t2(&p["weight"], [out, inp], device).transpose()),
        bias: Some(Param::from_tensor(t1(&p["bias"], device))),
    }
}

/// The fixture's initial model (dropout 0, as the twin's trained steps) in f64.
fn twin_model(f: &Value, device: &Device) -> MlpClassifier {
    let layers = f["init"].as_array().unwrap();
    let mut blocks = Vec::new();
    for pair in layers[..layers.len() - 1].chunks(2) {
        let norm = &pair[1];
        blocks.push(HiddenBlock {
            linear: linear_from(&pair[0], device),
            norm: BatchNorm1d {
                gamma: Param::from_tensor(t1(&norm["gamma"], device)),
                beta: Param::from_tensor(t1(&norm["beta"], device)),
                running_mean: RunningState::new(t1(&norm["running_mean"], device)),
                running_var: RunningState::new(t1(&norm["running_var"], device)),
            },
            dropout: DropoutConfig::new(0.0).init(),
        });
    }
    MlpClassifier {
        blocks,
        last: linear_from(layers.last().unwrap(), device),
    }
}

/// Every parameter and running statistic against the fixture's list at `key`.
fn assert_params(model: &MlpClassifier, f: &Value, key: &str) {
    let want = f[key].as_array().unwrap();
    let mut k = 0;
    for block in &model.blocks {
        let lin = &want[k];
        assert_close(
            &values(block.linear.weight.val().transpose()),
            &floats(&lin["weight"]),
            1e-10,
            &format!("{key} linear {k} weight"),
        );
        let bias = block.linear.bias.as_ref().unwrap().val();
        assert_close(&values(bias), &floats(&lin["bias"]), 1e-10, "bias");
        let bn = &want[k + 1];
        assert_close(
            &values(block.norm.gamma.val()),
            &floats(&bn["gamma"]),
            1e-10,
            "gamma",
        );
        assert_close(
            &values(block.norm.beta.val()),
            &floats(&bn["beta"]),
            1e-10,
            "beta",
        );
        assert_close(
            &values(block.norm.running_mean.value_sync()),
            &floats(&bn["running_mean"]),
            1e-10,
            &format!("{key} running_mean {k}"),
        );
        assert_close(
            &values(block.norm.running_var.value_sync()),
            &floats(&bn["running_var"]),
            1e-10,
            &format!("{key} running_var {k} (PyTorch keeps the unbiased variance)"),
        );
        k += 2;
    }
    let last = &want[k];
    assert_close(
        &values(model.last.weight.val().transpose()),
        &floats(&last["weight"]),
        1e-10,
        &format!("{key} last weight"),
    );
}

#[test]
fn forward_and_two_sgd_steps_equal_the_pytorch_twin() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let (input, classes) = (
        f["input"].as_u64().unwrap() as usize,
        f["output"].as_u64().unwrap() as usize,
    );
    let batch = f["labels"].as_array().unwrap().len();
    let labels = |key: &str| {
        let y: Vec<i64> = f[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        Tensor::<1, Int>::from_data(TensorData::new(y, [batch]), &device)
    };
    let mut model = twin_model(&f, &device);
    let mut sgd = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: f["momentum"].as_f64().unwrap(),
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig {
            penalty: f["weight_decay"].as_f64().unwrap() as f32,
        }))
        .init();
    let lr = f["lr"].as_f64().unwrap();
    for (step, (x, y, loss_key)) in [("x", "labels", "loss0"), ("x2", "labels2", "loss1")]
        .into_iter()
        .enumerate()
    {
        let logits = model.forward(t2(&f[x], [batch, input], &device));
        if step == 0 {
            assert_close(
                &values(logits.clone()),
                &floats(&f["train_logits"]),
                1e-12,
                "training-mode logits",
            );
        }
        let loss = cross_entropy(logits, labels(y));
        let want = f[loss_key].as_f64().unwrap();
        assert_close(&values(loss.clone()), &[want], 1e-12, loss_key);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = sgd.step(lr, model, grads);
        // SGD's weight decay is an f32 in Burn's config: 5e-3 rounds by 2e-11 relative.
        assert_params(&model, &f, &format!("after_step{}", step + 1));
    }
    let inner = device.clone().inner();
    let test = f["x_test"].as_array().unwrap().len() / input;
    let eval = model
        .valid()
        .forward(t2(&f["x_test"], [test, input], &inner));
    assert_eq!(eval.dims(), [test, classes]);
    assert_close(
        &values(eval),
        &floats(&f["eval_logits"]),
        1e-9,
        "inference logits",
    );
}

#[test]
fn inference_ignores_dropout_and_training_applies_it() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let config = MlpClassifierConfig {
        input: 6,
        hidden: vec![10],
        classes: 3,
        dropout: 0.5,
    };
    let with = config.init(&device);
    let mut without = MlpClassifierConfig {
        dropout: 0.0,
        ..config.clone()
    }
    .init(&device);
    without.blocks[0].linear = with.blocks[0].linear.clone();
    without.last = with.last.clone();
    let inner = device.clone().inner();
    let x = Tensor::<2>::random([8, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &inner);
    let a = values(with.valid().forward(x.clone()));
    let b = values(without.valid().forward(x.clone()));
    assert_eq!(a, b, "inference: dropout is off");
    // Training: half the hidden units dropped, the kept ones scaled by 2, so the two
    // training forwards differ.
    let xa = x.autodiff();
    let c = values(with.forward(xa.clone()));
    let d = values(without.forward(xa));
    assert!(c.iter().zip(&d).any(|(c, d)| (c - d).abs() > 1e-3));
}

/// Three separable blobs in 16-d: the trained MLP classifies held-out draws of them.
#[test]
fn learns_separable_codes_and_keeps_the_best_epoch() {
    let device = Device::flex();
    let draw = |n: usize, seed: u64| {
        use rand::Rng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut codes = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let class = (i % 3) as u32;
            for k in 0..16 {
                let centre = if k % 3 == class as usize { 2.0 } else { 0.0 };
                codes.push(centre + rng.random_range(-0.8f32..0.8));
            }
            labels.push(class);
        }
        (codes, labels)
    };
    let (codes, labels) = draw(300, 1);
    let (test_codes, test_labels) = draw(90, 2);
    let config = MlpClassifierConfig {
        input: 16,
        hidden: vec![32, 16],
        classes: 3,
        dropout: 0.5,
    };
    let training = ClassifierTraining {
        epochs: 30,
        batch_size: 32,
        lr: 0.05,
        ..ClassifierTraining::official()
    };
    let mut losses = Vec::new();
    let trained = train_classifier(&config, &training, &codes, &labels, &device, |_, l| {
        losses.push(l)
    })
    .unwrap();
    assert_eq!(losses.len(), 30);
    let min = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(trained.best_loss, min);
    assert_eq!(losses[trained.best_epoch - 1], min);
    assert!(min < 0.5 * losses[0], "losses {losses:?}");
    let acc = accuracy(&trained.model, &test_codes, &test_labels, &device).unwrap();
    assert!(acc > 0.95, "held-out accuracy {acc}");
}

#[test]
fn bad_codes_and_labels_are_named() {
    let device = Device::flex();
    let config = MlpClassifierConfig {
        input: 2,
        hidden: vec![4],
        classes: 3,
        dropout: 0.0,
    };
    let training = ClassifierTraining {
        epochs: 1,
        ..ClassifierTraining::official()
    };
    let run = |codes: &[f32], labels: &[u32]| {
        train_classifier(&config, &training, codes, labels, &device, |_, _| {})
            .unwrap_err()
            .to_string()
    };
    let e = run(&[0.0; 5], &[0, 1, 2]);
    assert!(e.contains("[n, 2]") && e.contains("5 values"), "{e}");
    let e = run(&[0.0, 1.0, f32::NAN, 0.0], &[0, 1]);
    assert!(e.contains("code 1") && e.contains("feature 0"), "{e}");
    let e = run(&[0.0; 4], &[0, 3]);
    assert!(e.contains("index 1") && e.contains("0..3"), "{e}");
}
