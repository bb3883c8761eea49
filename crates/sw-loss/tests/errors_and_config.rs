//! Bad input gets a clear error; the serde config covers every estimator.

mod common;

/// Tests here draw from the shared device RNG after seeding it; run them one at a time so
/// the draws are reproducible.
static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use sw_loss::{
    BatchReduction, Directions, EstimatorKind, LossConfig, Measure, SlicedOptions, SwError, sw,
    sw_with_directions,
};

fn cloud(n: usize, d: usize) -> Tensor<2> {
    Tensor::random([n, d], Distribution::Normal(0.0, 1.0), &Device::flex())
}

#[test]
fn bad_shapes_and_values_are_reported() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let opts = SlicedOptions::new(10, 2.0);
    let err = sw(&cloud(10, 3).into(), &cloud(10, 4).into(), &opts).unwrap_err();
    assert!(
        matches!(err, SwError::DimMismatch { .. }) && err.to_string().contains("[1, 10, 4]"),
        "{err}"
    );

    let xb = Measure::new(Tensor::random(
        [2, 10, 3],
        Distribution::Default,
        &Device::flex(),
    ));
    let yb = Measure::new(Tensor::random(
        [3, 10, 3],
        Distribution::Default,
        &Device::flex(),
    ));
    assert_eq!(
        sw(&xb, &yb, &opts).unwrap_err(),
        SwError::BatchMismatch { x: 2, y: 3 }
    );

    let err = sw(&cloud(0, 3).into(), &cloud(5, 3).into(), &opts).unwrap_err();
    assert!(matches!(err, SwError::Empty { what: "x", .. }), "{err}");

    assert_eq!(
        sw(
            &cloud(5, 3).into(),
            &cloud(5, 3).into(),
            &SlicedOptions::new(0, 2.0)
        )
        .unwrap_err(),
        SwError::NoProjections
    );
    assert_eq!(
        sw(
            &cloud(5, 3).into(),
            &cloud(5, 3).into(),
            &SlicedOptions::new(3, 0.5)
        )
        .unwrap_err(),
        SwError::InvalidP(0.5)
    );

    let nan = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, f32::NAN, 1.0, 2.0, 3.0, 4.0], [2, 3]),
        &Device::flex(),
    );
    let err = sw(&nan.into(), &cloud(2, 3).into(), &opts).unwrap_err();
    // [[0, NaN, 1], [2, 3, 4]]: entry 1 is in point 0 of batch 0.
    assert_eq!(
        err,
        SwError::NonFinitePoint {
            what: "x",
            batch: 0,
            point: 0
        }
    );
    assert!(err.to_string().contains("non-finite") && err.to_string().contains("point 0"));

    // NaN in y, given directions: named as y.
    let dirs = Directions::Shared(sw_loss::directions::uniform(4, 3, &Device::flex()));
    let nan_y = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 1.0, f32::INFINITY, 2.0, 3.0, 4.0], [2, 3]),
        &Device::flex(),
    );
    let err = sw_with_directions(
        &cloud(2, 3).into(),
        &nan_y.into(),
        &dirs,
        2.0,
        BatchReduction::Mean,
    )
    .unwrap_err();
    // [[0, 1, inf], [2, 3, 4]]: entry 2 is in point 0.
    assert_eq!(
        err,
        SwError::NonFinitePoint {
            what: "y",
            batch: 0,
            point: 0
        }
    );

    let device = Device::flex();
    let neg = Measure::single(cloud(3, 3)).with_weights_1d(Tensor::from_data(
        TensorData::new(vec![0.5f32, -0.1, 0.6], [3]),
        &device,
    ));
    let err = sw(&neg, &cloud(3, 3).into(), &opts).unwrap_err();
    assert!(
        matches!(err, SwError::NegativeWeight { .. }) && err.to_string().contains("-0.1"),
        "{err}"
    );

    let zero = Measure::single(cloud(3, 3)).with_weights_1d(Tensor::zeros([3], &device));
    assert!(matches!(
        sw(&zero, &cloud(3, 3).into(), &opts).unwrap_err(),
        SwError::ZeroWeights { .. }
    ));

    let short = Measure::single(cloud(3, 3)).with_weights_1d(Tensor::ones([4], &device));
    let err = sw(&short, &cloud(3, 3).into(), &opts).unwrap_err();
    assert!(
        err.to_string().contains("weights of x") && err.to_string().contains("[1, 4]"),
        "{err}"
    );

    let dirs = Directions::Shared(Tensor::ones([5, 2], &device));
    let err = sw_with_directions(
        &cloud(3, 3).into(),
        &cloud(3, 3).into(),
        &dirs,
        2.0,
        BatchReduction::Mean,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("directions") && err.to_string().contains("[5, 2]"),
        "{err}"
    );
}

#[test]
fn configs_parse_validate_and_run_for_every_kind() {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    // Seeded: the other test of this file draws too, and the order tests run in varies.
    device.seed(17);
    let x = Measure::new(Tensor::random(
        [2, 64, 3],
        Distribution::Normal(0.0, 1.0),
        &device,
    ));
    // y = x + t_b (the same points moved): W₂²(θ) = (θᵀt_b)² exactly, so Max-SW₂ = ‖t_b‖,
    // v-DSW₂ = ‖t_b‖ (E w²)^{1/2} ≤ ‖t_b‖ at the optimum, and SW₂ = ‖t_b‖/√3 in expectation.
    let shifts = [[1.0f32, -1.0, 1.0], [2.0, 2.0, -2.0]];
    let shift = Tensor::<3>::from_data(
        TensorData::new(
            shifts.iter().flatten().copied().collect::<Vec<f32>>(),
            [2, 1, 3],
        ),
        &device,
    );
    let y = Measure::new(x.points().clone() + shift);
    let norms = [3f64.sqrt(), 12f64.sqrt()];
    for kind in ["sw", "lcv-sw", "ucv-sw", "max-sw", "v-dsw"] {
        // Max-SW / v-DSW: plain ascent run to convergence (the maximiser ±t/‖t‖ is reached;
        // v-DSW's objective is sampled, so its steps are small enough that the sampling
        // noise moves ϑ by a few hundredths of a radian at most).
        let ascent = if kind == "v-dsw" {
            "ascent_optimizer = \"plain\"\nascent_steps = 200\nascent_lr = 0.01\nkappa = 50.0\n"
        } else {
            "ascent_optimizer = \"plain\"\nascent_steps = 60\nascent_lr = 0.5\n"
        };
        let text = format!(
            "kind = \"{kind}\"\nprojections = 10\np = 2\ndirections = \"orthogonal\"\nreduction = \"none\"\n{ascent}"
        );
        let config: LossConfig = toml::from_str(&text).unwrap();
        assert_eq!(config.kind.name(), kind);
        device.seed(100);
        let value = config.forward(&x, &y).unwrap();
        assert_eq!(value.dims(), [2]);
        let v: Vec<f32> = value.into_data().try_to_vec::<f32>().unwrap();
        if matches!(kind, "sw" | "lcv-sw" | "ucv-sw") {
            // Replay the seeded orthogonal directions: the value is the host formula's.
            device.seed(100);
            let th = common::to_vec(sw_loss::directions::orthogonal(10, 3, &device));
            let (xs, ys) = (
                common::to_vec(x.points().clone()),
                common::to_vec(y.points().clone()),
            );
            for b in 0..2 {
                let (xb, yb) = (&xs[b * 192..(b + 1) * 192], &ys[b * 192..(b + 1) * 192]);
                let pp = match kind {
                    "sw" => common::host::sw_pp(xb, yb, 3, &th, 2.0),
                    "lcv-sw" => common::host::cv_sw_pp(xb, yb, 3, &th, 2.0, false),
                    _ => common::host::cv_sw_pp(xb, yb, 3, &th, 2.0, true),
                };
                assert!(
                    common::rel_err(v[b] as f64, pp.sqrt()) < 1e-4,
                    "{kind} pair {b}: {} vs host {}",
                    v[b],
                    pp.sqrt()
                );
            }
        }
        for (b, (&got, &n)) in v.iter().zip(&norms).enumerate() {
            let got = got as f64;
            match kind {
                "max-sw" => assert!(
                    (got - n).abs() < 1e-4 * n,
                    "{kind} pair {b}: {got} vs ‖t‖ = {n}"
                ),
                // κ = 50: E w² = 1 − 2(coth 50 − 1/50)/50 = 0.9608, √ = 0.980; 10 draws.
                "v-dsw" => assert!(
                    got <= n * (1.0 + 1e-5) && got > 0.95 * n,
                    "{kind} pair {b}: {got} vs ‖t‖ = {n}, expected ≈ 0.980‖t‖"
                ),
                // Orthogonal blocks of 3 directions: each of the 3 full blocks sums to
                // ‖t‖², the 10th direction gives a value in [0, ‖t‖²]: SW₂² ∈ [0.3, 0.4]‖t‖².
                "sw" => assert!(
                    got >= 0.3f64.sqrt() * n * 0.999 && got <= 0.4f64.sqrt() * n * 1.001,
                    "{kind} pair {b}: {got} vs ‖t‖ = {n}"
                ),
                // The lower control variate (θᵀ(m_y − m_x))² equals W₂²(θ) here, so γ̂ = 1
                // and the estimate is E_θ (θᵀt)² = ‖t‖²/3 exactly.
                "lcv-sw" => assert!(
                    (got - n / 3f64.sqrt()).abs() < 1e-3 * n,
                    "{kind} pair {b}: {got} vs ‖t‖/√3 = {}",
                    n / 3f64.sqrt()
                ),
                // The upper one is not exact; the estimate stays near SW₂ = ‖t‖/√3.
                _ => assert!(
                    (got - n / 3f64.sqrt()).abs() < 0.05 * n / 3f64.sqrt(),
                    "{kind} pair {b}: {got} vs ‖t‖/√3 = {}",
                    n / 3f64.sqrt()
                ),
            }
        }
    }
    let err = toml::from_str::<LossConfig>("kind = \"sw\"\nprojection = 10\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `projection`"),
        "{err}"
    );
    let err = toml::from_str::<LossConfig>("kind = \"ucv\"\n").unwrap_err();
    assert!(err.to_string().contains("ucv-sw"), "{err}");
    let bad = LossConfig {
        projections: 0,
        ..LossConfig::new(EstimatorKind::Sw)
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("`projections`")
    );
    let bad = LossConfig {
        kappa: -1.0,
        ..LossConfig::new(EstimatorKind::VDsw)
    };
    assert!(bad.validate().unwrap_err().to_string().contains("`kappa`"));
    let bad = LossConfig {
        p: 0.0,
        ..LossConfig::new(EstimatorKind::LcvSw)
    };
    assert!(bad.validate().unwrap_err().to_string().contains("`p`"));
}
