//! Shared and per-pair direction sets (`DirectionSets`): per-pair draws give each pair its own
//! set and the same expectation.
//!
//! The pairs are (x, x + t): sorted θᵀ(x + t) = sorted θᵀx + θᵀt, so each direction gives
//! W₂² = (θᵀt)² exactly, and for θ ~ Unif(S^{d−1})
//! ```text
//! E (θᵀt)² = ‖t‖²/d,   Var (θᵀt)² = 3‖t‖⁴/(d(d+2)) − ‖t‖⁴/d²
//! ```
//! (the moments of one coordinate of a uniform unit vector: E θ₁² = 1/d, E θ₁⁴ = 3/(d(d+2))).

use burn::tensor::{Device, Distribution, Tensor};
use sw_loss::{
    BatchReduction, DirectionKind, DirectionSets, EstimatorKind, SlicedWassersteinConfig, SwValue,
};

const D: usize = 3;
const T: [f32; 3] = [1.5, -0.5, 1.0];

/// B copies of the pair (x, x + t), `[B, n, 3]` each.
fn shifted_pairs(b: usize, n: usize, device: &Device) -> (Tensor<3>, Tensor<3>) {
    let x = Tensor::<2>::random([n, D], Distribution::Normal(0.0, 1.0), device)
        .unsqueeze_dim::<3>(0)
        .repeat_dim(0, b);
    let t = Tensor::<1>::from_floats(T, device).reshape([1, 1, D]);
    (x.clone(), x + t)
}

fn per_pair(sets: DirectionSets, kind: DirectionKind, l: usize, b: usize, seed: u64) -> Vec<f64> {
    let device = Device::flex();
    device.seed(seed);
    let (x, y) = shifted_pairs(b, 64, &device);
    SlicedWassersteinConfig::new(SwValue::Power)
        .with_projections(l)
        .with_directions(kind)
        .with_direction_sets(sets)
        .with_reduction(BatchReduction::PerPair)
        .init()
        .unwrap()
        .forward(x, y)
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap()
}

fn spread(v: &[f64]) -> f64 {
    let max = v.iter().cloned().fold(f64::MIN, f64::max);
    let min = v.iter().cloned().fold(f64::MAX, f64::min);
    max - min
}

#[test]
fn shared_sets_give_equal_pairs_equal_values_per_pair_sets_do_not() {
    for kind in [
        DirectionKind::Uniform,
        DirectionKind::Orthogonal,
        DirectionKind::Rqmc,
    ] {
        let shared = per_pair(DirectionSets::Shared, kind, 8, 6, 1);
        assert!(spread(&shared) < 1e-5, "{kind:?} shared: {shared:?}");
        let own = per_pair(DirectionSets::PerPair, kind, 8, 6, 1);
        // Six independent sets of 8 directions: distinct values (up to f32 rounding).
        for i in 0..own.len() {
            for j in 0..i {
                assert!(
                    (own[i] - own[j]).abs() > 1e-6,
                    "{kind:?} per-pair: pairs {i} and {j} share a set: {own:?}"
                );
            }
        }
    }
}

/// The mean over B = 400 pairs of per-pair estimates with L = 5 each is within 4σ of ‖t‖²/d,
/// σ² = Var(θᵀt)²/(L·B) (independent sets). A shared set would have σ² = Var/L, 20× wider;
/// the test also checks the per-pair values scatter with that per-pair variance (within 25 %).
#[test]
fn per_pair_sets_have_the_expectation_and_the_variance_of_independent_draws() {
    let (b, l) = (400usize, 5usize);
    let t2: f64 = T.iter().map(|v| (*v as f64).powi(2)).sum();
    let d = D as f64;
    let mean_want = t2 / d;
    let var_one = 3.0 * t2 * t2 / (d * (d + 2.0)) - t2 * t2 / (d * d);
    let values = per_pair(DirectionSets::PerPair, DirectionKind::Uniform, l, b, 7);
    let mean = values.iter().sum::<f64>() / b as f64;
    let sigma = (var_one / (l * b) as f64).sqrt();
    assert!(
        (mean - mean_want).abs() < 4.0 * sigma,
        "mean {mean} vs ‖t‖²/d = {mean_want} (σ = {sigma})"
    );
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (b - 1) as f64;
    let var_want = var_one / l as f64;
    assert!(
        (var / var_want - 1.0).abs() < 0.25,
        "per-pair variance {var} vs Var/L = {var_want}"
    );
}

#[test]
fn seeded_per_pair_sets_repeat_with_the_seed_and_differ_between_pairs() {
    let device = Device::flex();
    device.seed(3);
    let (x, y) = shifted_pairs(4, 32, &device);
    let loss = SlicedWassersteinConfig::new(SwValue::Power)
        .with_projections(6)
        .with_direction_sets(DirectionSets::PerPair)
        .with_reduction(BatchReduction::PerPair)
        .init()
        .unwrap();
    let run = |seed| {
        loss.try_forward_seeded(x.clone(), y.clone(), seed)
            .unwrap()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()
    };
    let (a, b, c) = (run(11), run(11), run(12));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(spread(&a) > 1e-6, "{a:?}");
}

#[test]
fn per_pair_sets_reach_the_memory_plan_and_the_toml_form() {
    let shared = SlicedWassersteinConfig::new(SwValue::Power).with_projections(1000);
    let own = shared.clone().with_direction_sets(DirectionSets::PerPair);
    let plan = |c: &SlicedWassersteinConfig| {
        c.init()
            .unwrap()
            .plan_memory(64, 2048, 2048, 3, burn::tensor::DType::F32)
            .unwrap()
            .estimated_bytes
    };
    assert!(
        plan(&own) > plan(&shared),
        "per-pair directions hold B·L·d values"
    );
    let cfg: sw_loss::LossConfig =
        toml::from_str("kind = \"ucv-sw\"\ndirection_sets = \"per-pair\"").unwrap();
    assert_eq!(cfg.direction_sets, DirectionSets::PerPair);
    assert_eq!(cfg.kind, EstimatorKind::UcvSw);
    assert_eq!(
        sw_loss::LossConfig::default().direction_sets,
        DirectionSets::Shared
    );
    let e = toml::from_str::<sw_loss::LossConfig>("direction_sets = \"each\"").unwrap_err();
    assert!(e.to_string().contains("per-pair"), "{e}");
}
