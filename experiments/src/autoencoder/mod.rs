//! Point-cloud autoencoder training with SW-type losses as the Self-Attention Amortized DSW
//! paper's code trains and evaluates it (hsgser/Self-Amortized-DSW): `sw`, `max-sw`, `v-dsw`,
//! and the amortized min–max with the linear and attention amortizers.
//!
//! - [`config`]: the TOML config and its checks (every field honoured or rejected);
//! - [`data`]: the training and held-out clouds;
//! - [`train`]: the loop — loss in official units N·SW_p^p, SGD, the amortizer's Adam step,
//!   `checkpoints/best/` by lowest mean training loss;
//! - [`eval`]: `eval-ae` — Chamfer, √(N·SW₂²), approxmatch EMD (and exact EMD), linear SVM.

mod checkpoints;
pub mod config;
pub mod data;
pub mod eval;
mod metrics;
pub mod train;

pub use config::{AutoencoderConfig, LossScale};
pub use eval::{Checkpoint, EvalOptions, evaluate};
pub use train::run;

/// The `autoencoder` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "autoencoder",
    check: |loaded| AutoencoderConfig::load(loaded).map(|_| ()),
    run: train::run,
    resumable: true,
};

#[cfg(test)]
mod tests {
    use super::config::AeData;
    use super::data::training_set;
    use super::metrics::{EvalClouds, mean_std, sw_metric_per_cloud};
    use super::train::amortized_loss;
    use super::*;
    use burn::optim::AdamConfig;
    use burn::tensor::{Device, Tensor, TensorData};
    use datasets::PointCloud;
    use datasets::shapenet::CloudItem;
    use models::amortized::{AmortizedConfig, AmortizedKind};

    fn parse(text: &str) -> (AutoencoderConfig, toml::Table) {
        let table: toml::Table = toml::from_str(text).unwrap();
        (crate::header::from_toml(text).unwrap(), table)
    }

    const BASE: &str = "experiment = \"autoencoder\"\n[data]\npoints = 64\n";

    /// The official SW draws L directions per cloud (sw_variants.py line 38): per-pair sets
    /// unless the config says otherwise.
    #[test]
    fn sw_directions_are_per_cloud_unless_the_config_says_shared() {
        let dir = tempfile::tempdir().unwrap();
        let load = |extra: &str| {
            let path = dir.path().join("ae.toml");
            std::fs::write(&path, format!("{BASE}[loss]\nkind = \"sw\"\n{extra}")).unwrap();
            AutoencoderConfig::load(&crate::config::load(&path, &[]).unwrap()).unwrap()
        };
        use sw_loss::DirectionSets;
        assert_eq!(load("").loss.direction_sets, DirectionSets::PerPair);
        assert_eq!(
            load("direction_sets = \"shared\"\n").loss.direction_sets,
            DirectionSets::Shared
        );
        assert_eq!(
            load("").training_loss().direction_sets,
            DirectionSets::PerPair
        );
    }

    /// v-DSW's ascent holds all L directions of every pair: over the budget it is refused,
    /// naming the budget. The amortized v-DSW and SW evaluate in chunks, so the same budget
    /// passes; a budget below one direction is refused for every loss.
    #[test]
    fn memory_check_refuses_only_what_cannot_be_chunked() {
        let cfg = |kind: &str, amortized: bool, budget: u64| {
            let extra = if amortized {
                "[amortized]\nkind = \"lin_attn\"\n"
            } else {
                ""
            };
            let (cfg, raw) = parse(&format!(
                "experiment = \"autoencoder\"\n[data]\npoints = 2048\n[train]\nbatch_size = 32\n\
                 [loss]\nkind = \"{kind}\"\nprojections = 100\nmemory_budget = {budget}\n{extra}"
            ));
            cfg.check(&raw).unwrap();
            cfg
        };
        let budget = 8 << 20; // 8 MiB: a few directions at a time
        let e = train::check_memory(&cfg("v-dsw", false, budget), 100)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("memory_budget") && e.contains("not chunked"),
            "{e}"
        );
        train::check_memory(&cfg("v-dsw", true, budget), 100).unwrap();
        train::check_memory(&cfg("sw", false, budget), 100).unwrap();
        let e = train::check_memory(&cfg("sw", false, 1000), 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory_budget"), "{e}");
    }

    #[test]
    fn mean_and_std_are_pythons_statistics_mean_and_stdev() {
        // statistics.stdev([1, 2, 3, 4]) = 1.2909944487358056
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - 1.2909944487358056).abs() < 1e-15);
    }

    #[test]
    fn parsed_but_unsupported_loss_fields_are_config_errors() {
        for (extra, field) in [
            ("[loss]\npower = false\n", "power"),
            ("[loss]\nreduction = \"sum\"\n", "reduction"),
            ("[loss]\nreduction = \"none\"\n", "reduction"),
            ("[model]\npoints = 128\n", "[model] points"),
        ] {
            let (cfg, raw) = parse(&format!("{BASE}{extra}"));
            let err = cfg.check(&raw).unwrap_err().to_string();
            assert!(err.contains(field), "{extra}: {err}");
        }
        for ok in [
            "[loss]\npower = true\nreduction = \"mean\"\n",
            "[model]\npoints = 64\n",
            "",
        ] {
            let (cfg, raw) = parse(&format!("{BASE}{ok}"));
            cfg.check(&raw).unwrap();
            assert_eq!(cfg.model_config().points, 64);
        }
    }

    #[test]
    fn the_official_loss_scale_is_the_default_and_sums_over_points() {
        let (cfg, _) = parse(BASE);
        assert_eq!(cfg.train.loss_scale, LossScale::SumOverPoints);
        assert_eq!(cfg.train.loss_scale.factor(2048), 2048.0);
        assert_eq!(LossScale::MeanOverPoints.factor(2048), 1.0);
        let loss = cfg.training_loss();
        assert!(loss.power && loss.reduction == sw_loss::BatchReduction::Mean);
        // The official ascent defaults (config.json: adam, 1e-4, 50).
        assert_eq!(loss.ascent_optimizer, sw_loss::AscentOptimizer::Adam);
        assert_eq!((loss.ascent_steps, loss.ascent_lr), (50, 1e-4));
    }

    fn cloud(points: usize, offset: f32) -> CloudItem {
        CloudItem {
            cloud: PointCloud::new(
                (0..points * 3)
                    .map(|i| offset + ((i * 37) % 11) as f32 / 11.0)
                    .collect(),
            ),
            label: 0,
        }
    }

    #[test]
    fn held_out_zero_trains_and_evaluates_on_every_cloud() {
        let data = AeData {
            synthetic_clouds: 5,
            points: 16,
            held_out: 0,
            file: None,
            monitor_clouds: 8,
        };
        let (train, eval, held_out) = training_set(&data, 1).unwrap();
        assert_eq!((train.len(), eval.len(), held_out), (5, 5, false));
        let data = AeData {
            held_out: 2,
            ..data
        };
        let (train, eval, held_out) = training_set(&data, 1).unwrap();
        assert_eq!((train.len(), eval.len(), held_out), (3, 2, true));
    }

    #[test]
    fn evaluation_slices_inputs_by_their_own_size_not_the_decoded_one() {
        // Files hold P = 10 points per cloud; the model decodes 4. Each reconstruction is the
        // first 4 points of its own input, so every nearest-neighbour distance from the
        // reconstruction is 0 and the Chamfer is the input's one-way term alone.
        let items: Vec<CloudItem> = (0..3).map(|i| cloud(10, 5.0 * i as f32)).collect();
        let eval = EvalClouds::new(&items);
        let recon: Vec<f32> = items
            .iter()
            .flat_map(|c| c.cloud.points[..12].to_vec())
            .collect();
        let got = eval.chamfer(&recon, 4);
        for (i, c) in items.iter().enumerate() {
            let want =
                models::mesh_ode::metrics::point_metrics(&c.cloud.points[..12], &c.cloud.points)
                    .chamfer;
            assert!(
                (got[i] - want).abs() < 1e-12,
                "cloud {i}: {} vs {want}",
                got[i]
            );
            // Clouds are 5 apart: a slice taken at the wrong offset would cost ≥ 1.
            assert!(got[i] < 1.0);
            assert_eq!(eval.input(i).len(), 30);
        }
        // The SW metric needs equal sizes: skipped, not a panic.
        let device = Device::flex();
        assert!(eval.sw_metric(&recon, 4, &device).unwrap().is_none());
    }

    #[test]
    fn sw_metric_is_sqrt_n_sw2sq_per_cloud_with_fresh_directions() {
        // recon = target + t: W₂²(θ) = (θᵀt)² exactly, and for θ uniform on S², E(θᵀt)² =
        // ‖t‖²/3. So metric² / N averages to ‖t‖²/3 over clouds × 100 directions, each
        // cloud's value is at most √N‖t‖, and fresh directions make the clouds differ.
        let device = Device::flex();
        device.seed(5);
        let (n, points) = (200, 32);
        let t = [0.3f32, -0.4, 1.2];
        let norm_sq = t.iter().map(|v| (v * v) as f64).sum::<f64>();
        let targets: Vec<f32> = (0..n * points * 3)
            .map(|i| ((i * 7919) % 1013) as f32 / 1013.0)
            .collect();
        let recons: Vec<f32> = targets
            .iter()
            .enumerate()
            .map(|(i, v)| v + t[i % 3])
            .collect();
        let v = sw_metric_per_cloud(&recons, &targets, points, &device, 64).unwrap();
        assert_eq!(v.len(), n);
        let mean_sq = v.iter().map(|x| x * x / points as f64).sum::<f64>() / n as f64;
        assert!(
            (mean_sq - norm_sq / 3.0).abs() < 0.03 * norm_sq / 3.0,
            "{mean_sq} vs ‖t‖²/3 = {}",
            norm_sq / 3.0
        );
        assert!(
            v.iter()
                .all(|x| *x <= (points as f64 * norm_sq).sqrt() * (1.0 + 1e-5))
        );
        let (_, sd) = mean_std(&v);
        assert!(sd > 0.01, "directions must be drawn per cloud (std {sd})");
    }

    #[test]
    fn amortized_loss_honours_p_and_the_point_scale() {
        // A shift y = x + t: W_p^p(θ) = |θᵀt|^p exactly, so under the (deterministic) Max-SW
        // direction θ_b of the updated amortizer the loss is scale · mean_b |θ_bᵀt|^p.
        let device = Device::flex().autodiff();
        device.seed(2);
        let (b, m) = (3, 16);
        let x: Vec<f32> = (0..b * m * 3)
            .map(|i| ((i * 31) % 17) as f32 / 17.0)
            .collect();
        let t = [0.5f32, -1.0, 0.25];
        let y: Vec<f32> = x.iter().enumerate().map(|(i, v)| v + t[i % 3]).collect();
        let xt = Tensor::<3>::from_data(TensorData::new(x, [b, m, 3]), &device);
        let yt = Tensor::<3>::from_data(TensorData::new(y, [b, m, 3]), &device);
        for p in [1.0, 2.0, 3.0] {
            let loss = sw_loss::LossConfig {
                kind: sw_loss::EstimatorKind::MaxSw,
                p,
                power: true,
                ..Default::default()
            };
            let amortizer = AmortizedConfig::new(AmortizedKind::Linear, m).init(&device);
            let mut adam = AdamConfig::new().with_beta_1(0.0).with_beta_2(0.9).init();
            let (value, updated) = amortized_loss(
                amortizer,
                &mut adam,
                1e-3,
                xt.clone(),
                yt.clone(),
                &loss,
                m as f64,
            )
            .unwrap();
            let theta: Vec<f32> = updated
                .forward(xt.clone(), yt.clone())
                .into_data()
                .try_to_vec()
                .unwrap();
            let want = m as f64
                * (0..b)
                    .map(|k| {
                        let dot: f64 = (0..3).map(|i| (theta[3 * k + i] * t[i]) as f64).sum();
                        dot.abs().powf(p)
                    })
                    .sum::<f64>()
                / b as f64;
            let got = value.into_scalar::<f32>() as f64;
            assert!((got - want).abs() < 1e-4 * want, "p = {p}: {got} vs {want}");
        }
    }
}
