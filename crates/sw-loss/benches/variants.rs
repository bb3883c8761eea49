//! Forward + backward time of the SW variants (EBSW, RPSW, GSW, max-GSW, SSW, S3W, RI-S3W,
//! linear SSW, sliced plans, SUOT, USOT) on the workloads of `scripts/bench/variants_bench.py`, which times
//! their PyTorch / POT twins on the same shapes; `python3 scripts/bench.py --only variants`
//! runs both and writes the table of BENCHMARKS.md.
//!
//! `cargo bench -p sw-loss --bench variants` prints one JSON line per workload and op:
//! `{"workload", "op", "device", "B", "n", "d", "L", "median_s"}`, f32 on `flex`. Environment:
//! `SWBURN_BENCH_ONLY` (comma-separated workloads), `SWBURN_BENCH_OPS` (comma-separated ops).
//! Directions are drawn once outside the timed step (as the twins do), except for rpsw and
//! max-gsw, whose directions are part of the op (drawn from the data / found by the ascent).

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use sw_loss::{Directions, EstimatorKind, LossConfig, Measure};

/// The ops and the workloads each is timed on (the spherical ones are not batched in POT, and
/// SSW / linear SSW / plans are host-bound: flow only).
const OPS: [(&str, &[&str]); 12] = [
    ("ebsw", &["flow", "pc_batch", "large"]),
    ("rpsw", &["flow", "pc_batch", "large"]),
    ("gsw-poly3", &["flow", "pc_batch", "large"]),
    ("gsw-circular", &["flow", "pc_batch", "large"]),
    ("max-gsw", &["flow"]),
    ("s3w", &["flow", "pc_batch", "large"]),
    ("ri-s3w", &["flow", "pc_batch", "large"]),
    ("ssw", &["flow"]),
    ("lssot", &["flow"]),
    ("plans", &["flow"]),
    ("suot", &["flow"]),
    ("usot", &["flow"]),
];

/// max-GSW's ascent in both: 50 Adam steps at lr 1e-2 (the fixture's official twin uses the
/// same optimiser).
const ASCENT_STEPS: usize = 50;
const ASCENT_LR: f64 = 1e-2;
/// RI-S3W's rotations (the S3W paper's flows use 1, 5, 10).
const ROTATIONS: usize = 5;
/// ρ₁ = ρ₂ of suot / usot (as the twin), POT's 10 Frank–Wolfe steps.
const UOT_RHO: f64 = 1.0;

fn workload(name: &str) -> (usize, usize, usize, usize) {
    match name {
        "flow" => (1, 2048, 3, 100),
        "pc_batch" => (32, 2048, 3, 100),
        "large" => (1, 65536, 3, 256),
        other => panic!("unknown workload `{other}`"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn unit(t: Tensor<3>) -> Tensor<3> {
    t.clone() / t.square().sum_dim(2).sqrt()
}

fn main() {
    sw_loss::allocator::keep_freed_memory();
    let list = |var: &str| -> Option<Vec<String>> {
        std::env::var(var)
            .ok()
            .map(|s| s.split(',').map(|w| w.trim().to_string()).collect())
    };
    let (only, ops) = (list("SWBURN_BENCH_ONLY"), list("SWBURN_BENCH_OPS"));
    let device = Device::flex().autodiff();
    device.seed(0);
    for (op, workloads) in OPS {
        if ops.as_ref().is_some_and(|o| !o.iter().any(|x| x == op)) {
            continue;
        }
        for &w in workloads {
            if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == w)) {
                continue;
            }
            let (b, n, d, l) = workload(w);
            let spherical = matches!(op, "s3w" | "ri-s3w" | "ssw" | "lssot");
            let gauss = |mean: f64| {
                Tensor::<3>::random([b, n, d], Distribution::Normal(mean, 1.0), &device)
            };
            let (x0, y0) = if spherical {
                (unit(gauss(0.0)), unit(gauss(1.0)))
            } else {
                (gauss(0.0), gauss(1.0))
            };
            let x = x0.detach().require_grad();
            let y = y0.detach();
            let kind = EstimatorKind::ALL.into_iter().find(|k| k.name() == op);
            let config = kind.map(|kind| LossConfig {
                kind,
                projections: l,
                power: true,
                ascent_steps: ASCENT_STEPS,
                ascent_lr: ASCENT_LR,
                s3w_rotations: ROTATIONS,
                ..LossConfig::default()
            });
            let sliced_d = config.as_ref().map_or(d, |c| c.sliced_dimension(d));
            let rows = if op == "ssw" { 2 * l } else { l };
            let dirs = Directions::Shared(sw_loss::directions::uniform(rows, sliced_d, &device));
            let dirs = if op == "ssw" {
                sw_loss::sphere::pair_frames(&dirs)
            } else {
                dirs
            };
            let frames = sw_loss::sphere::stiefel_frames(l, d, &device).expect("frames");
            let step = || {
                let (xm, ym) = (Measure::new(x.clone()), Measure::new(y.clone()));
                let loss = match op {
                    "rpsw" | "max-gsw" => config.as_ref().unwrap().forward(&xm, &ym),
                    "lssot" => sw_loss::sphere::linear_ssw_with_frames(
                        &xm,
                        Some(&ym),
                        &frames,
                        sw_loss::lcot::POT_GRID,
                    ),
                    "plans" => {
                        let x2 = x.clone().reshape([n, d]);
                        let y2 = y.clone().reshape([n, d]);
                        let Directions::Shared(t) = &dirs else {
                            unreachable!()
                        };
                        sw_loss::plans::sliced_plans(
                            &x2,
                            &y2,
                            None,
                            None,
                            t,
                            sw_loss::plans::GroundCost::SqEuclidean,
                        )
                        .map(|p| p.costs.mean().reshape([1]))
                    }
                    "suot" | "usot" => {
                        let (x2, y2) = (x.clone().reshape([n, d]), y.clone().reshape([n, d]));
                        let Directions::Shared(t) = &dirs else {
                            unreachable!()
                        };
                        let rho = sw_loss::unbalanced::UnbalancedOptions::new(UOT_RHO, UOT_RHO);
                        if op == "suot" {
                            sw_loss::unbalanced::sliced_unbalanced_ot(&x2, &y2, None, None, t, rho)
                                .map(|s| s.value)
                        } else {
                            sw_loss::unbalanced::unbalanced_sliced_ot(&x2, &y2, None, None, t, rho)
                                .map(|s| s.value)
                        }
                    }
                    _ => config
                        .as_ref()
                        .unwrap()
                        .forward_with_directions(&xm, &ym, &dirs),
                }
                .expect("valid inputs");
                let grads = loss.sum().backward();
                let g = x.grad(&grads).expect("gradient");
                let _ = g.slice([0..1, 0..1, 0..1]).into_scalar::<f32>();
            };
            step();
            let reps = if b * n * l > 1_000_000 || matches!(op, "ssw" | "max-gsw") {
                5
            } else {
                11
            };
            let times: Vec<f64> = (0..reps)
                .map(|_| {
                    let t = Instant::now();
                    step();
                    t.elapsed().as_secs_f64()
                })
                .collect();
            println!(
                "{{\"workload\": \"{w}\", \"op\": \"{op}\", \"device\": \"flex\", \"B\": {b}, \"n\": {n}, \"d\": {d}, \"L\": {l}, \"median_s\": {:.6}}}",
                median(times)
            );
        }
    }
}
