//! The checked loss module (`SlicedWassersteinConfig` → `init` → `SlicedWasserstein`) and the
//! POT-shaped `sliced_wasserstein_distance`: documented defaults, SW_p against SW_p^p, seeded
//! directions against a closed form, shapes and errors, per-pair values.

mod common;

use burn::module::Module;
use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use common::*;
use sw_loss::directions::sample_seeded;
use sw_loss::{
    AscentOptimizer, BatchReduction, DirectionKind, EstimatorKind, Gamma, SlicedWasserstein,
    SlicedWassersteinConfig, SwError, SwValue, sliced_wasserstein_distance,
};

/// Tests here seed the shared device RNG; one at a time.
static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = SlicedWassersteinConfig::new(SwValue::Distance);
    assert_eq!(c.estimator, EstimatorKind::Sw);
    assert_eq!(c.projections, 100);
    assert_eq!(c.p, 2.0);
    assert_eq!(c.directions, DirectionKind::Uniform);
    assert_eq!(c.reduction, BatchReduction::Mean);
    assert_eq!(c.gamma, Gamma::Fitted);
    assert_eq!(c.ascent_optimizer, AscentOptimizer::Adam);
    assert_eq!((c.ascent_steps, c.ascent_lr, c.kappa), (50, 1e-4, 1.0));
    assert!(c.check_finite);
    assert_eq!(c.memory_budget, 1 << 30);
    assert_eq!(c.seed, None);
    // The serde LossConfig has the same defaults (except `power`, which is required here).
    let l = c.loss_config();
    assert_eq!(l, sw_loss::LossConfig::default());
}

#[test]
fn init_names_the_bad_field() {
    let bad = [
        (
            SlicedWassersteinConfig::new(SwValue::Power).with_projections(0),
            "projections",
        ),
        (
            SlicedWassersteinConfig::new(SwValue::Power).with_p(0.5),
            "p",
        ),
        (
            SlicedWassersteinConfig::new(SwValue::Power).with_memory_budget(0),
            "memory_budget",
        ),
        (
            SlicedWassersteinConfig::new(SwValue::Power)
                .with_estimator(EstimatorKind::MaxSw)
                .with_seed(Some(3)),
            "seed",
        ),
    ];
    for (config, field) in bad {
        match config.init() {
            Err(SwError::InvalidParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{field}: expected InvalidParameter, got {other:?}"),
        }
    }
}

/// Seeded directions: y = x + t gives W₂²(θ) = (θᵀt)² exactly (a translation moves every
/// projected point by θᵀt), so SW₂² = (1/L) Σ_l (θ_lᵀt)² with the θ of `sample_seeded`.
#[test]
fn seeded_directions_match_the_translation_closed_form() {
    let device = Device::flex();
    let (n, d, l, seed) = (64, 3, 25, 11);
    let t = [0.3, -1.2, 2.0];
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..n * d)
                .map(|i| ((i * 37 % 101) as f64) / 50.0)
                .collect::<Vec<_>>(),
            [n, d],
        ),
        (&device, DType::F64),
    );
    let shift = Tensor::<2>::from_data(TensorData::new(t.to_vec(), [1, d]), (&device, DType::F64));
    let y = x.clone() + shift;
    let theta = to_vec(sample_seeded(
        DirectionKind::Uniform,
        l,
        d,
        seed,
        &device,
        DType::F64,
    ));
    let expected: f64 = theta
        .chunks(d)
        .map(|r| r.iter().zip(t).map(|(a, b)| a * b).sum::<f64>().powi(2))
        .sum::<f64>()
        / l as f64;
    let power = SlicedWassersteinConfig::new(SwValue::Power)
        .with_projections(l)
        .with_seed(Some(seed))
        .init()
        .unwrap();
    let v = scalar(power.forward(x.clone(), y.clone()));
    assert!(rel_err(v, expected) < 1e-12, "SW₂² {v} vs {expected}");
    let distance = SlicedWassersteinConfig::new(SwValue::Distance)
        .with_projections(l)
        .init()
        .unwrap();
    let s = scalar(
        distance
            .try_forward_seeded(x.clone(), y.clone(), seed)
            .unwrap(),
    );
    assert!(
        rel_err(s, expected.sqrt()) < 1e-12,
        "SW₂ {s} vs {}",
        expected.sqrt()
    );
    // POT-shaped: the same number with the same seed.
    let pot = scalar(sliced_wasserstein_distance(x, y, None, None, l, 2.0, Some(seed)).unwrap());
    assert!(rel_err(pot, expected.sqrt()) < 1e-12, "pot-shaped {pot}");
}

#[test]
fn a_seeded_call_leaves_the_device_rng_alone() {
    let _g = lock();
    let device = Device::flex();
    let loss = SlicedWassersteinConfig::new(SwValue::Power)
        .with_projections(10)
        .init()
        .unwrap();
    let x = Tensor::<2>::ones([8, 2], &device);
    let y = Tensor::<2>::zeros([8, 2], &device);
    device.seed(5);
    let plain = to_vec(Tensor::<1>::random([4], Distribution::Default, &device));
    device.seed(5);
    let _ = loss.try_forward_seeded(x, y, 99).unwrap();
    let after = to_vec(Tensor::<1>::random([4], Distribution::Default, &device));
    assert_eq!(plain, after);
}

#[test]
fn distance_is_the_root_of_the_power_and_per_pair_has_one_value_per_pair() {
    let _g = lock();
    let device = Device::flex();
    let x = Tensor::<3>::random([3, 40, 2], Distribution::Normal(0.0, 1.0), &device);
    let y = Tensor::<3>::random([3, 30, 2], Distribution::Normal(1.0, 1.0), &device);
    let cfg = SlicedWassersteinConfig::new(SwValue::Power).with_seed(Some(1));
    let power = cfg.init().unwrap();
    let distance = SlicedWassersteinConfig {
        value: SwValue::Distance,
        ..cfg.clone()
    }
    .init()
    .unwrap();
    let pp = to_vec(power.forward_per_pair(x.clone(), y.clone()));
    let dd = to_vec(distance.forward_per_pair(x.clone(), y.clone()));
    assert_eq!(pp.len(), 3);
    for (p, d) in pp.iter().zip(&dd) {
        assert!(rel_err(p.sqrt(), *d) < 1e-5, "{p} {d}");
    }
    // The mean reduction averages the per-pair distances.
    let mean = scalar(distance.forward(x.clone(), y.clone()));
    assert!(rel_err(mean, dd.iter().sum::<f64>() / 3.0) < 1e-5);
    let sum = SlicedWassersteinConfig {
        value: SwValue::Distance,
        ..cfg
    }
    .with_reduction(BatchReduction::Sum)
    .init()
    .unwrap();
    assert!(rel_err(scalar(sum.forward(x, y)), dd.iter().sum::<f64>()) < 1e-5);
}

#[test]
fn weighted_forward_equals_repeated_points() {
    // Weight 2 on a point is the same measure as that point listed twice.
    let device = Device::flex();
    let xs = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 0.0, 1.0, 0.5, 3.0, -1.0], [3, 2]),
        &device,
    );
    let x_rep = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 0.0, 1.0, 0.5, 3.0, -1.0, 3.0, -1.0], [4, 2]),
        &device,
    );
    let y = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 1.0, 2.0, 0.0], [2, 2]),
        &device,
    );
    let loss = SlicedWassersteinConfig::new(SwValue::Power)
        .with_seed(Some(4))
        .init()
        .unwrap();
    let a = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 1.0, 2.0], [3]), &device);
    let b = Tensor::<1>::ones([2], &device);
    let weighted = scalar(loss.forward_weighted(xs, a, y.clone(), b));
    let repeated = scalar(loss.forward(x_rep, y));
    assert!(
        rel_err(weighted, repeated) < 1e-5,
        "{weighted} vs {repeated}"
    );
}

#[test]
fn bad_inputs_are_errors_and_forward_panics_with_the_message() {
    let device = Device::flex();
    let loss = SlicedWassersteinConfig::new(SwValue::Distance)
        .init()
        .unwrap();
    let x4 = Tensor::<4>::zeros([1, 2, 3, 4], &device);
    assert!(matches!(
        loss.try_forward(x4.clone(), x4),
        Err(SwError::Shape { what: "x", .. })
    ));
    let x = Tensor::<2>::zeros([5, 3], &device);
    let y = Tensor::<2>::zeros([5, 2], &device);
    assert!(matches!(
        loss.try_forward(x.clone(), y.clone()),
        Err(SwError::DimMismatch { .. })
    ));
    let panic = std::panic::catch_unwind(|| loss.forward(x, y)).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("dimension mismatch"), "{message}");
}

#[derive(Module, Debug)]
struct WithLoss {
    loss: SlicedWasserstein,
}

#[test]
fn the_loss_is_a_module_without_parameters() {
    let model = WithLoss {
        loss: SlicedWassersteinConfig::new(SwValue::Power).init().unwrap(),
    };
    assert_eq!(model.num_params(), 0);
    let copy = model.clone();
    assert_eq!(copy.loss.config(), model.loss.config());
}
