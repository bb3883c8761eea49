//! Forward+backward time of the estimators on the four workloads of
//! `scripts/bench/anchor_bench.py` (which times PyTorch and POT on the same shapes); `python3 scripts/bench.py --only sw` runs both and writes the table of BENCHMARKS.md.
//!
//! `cargo bench -p sw-loss --bench workloads` prints one JSON line per workload, estimator and
//! sort: `{"workload", "estimator", "device", "sort", "median_s", ...}`. Environment:
//! * `SWBURN_BENCH_DEVICE`: comma-separated devices (`flex`, `ndarray`, `wgpu`, `tch`,
//!   `tch-cuda`); default `flex`;
//! * `SWBURN_BENCH_ONLY`: comma-separated workloads (default all four);
//! * `SWBURN_BENCH_ESTIMATORS`: comma-separated estimators (default
//!   `sw,lcv-sw,ucv-sw,sw-rqmc,lcv-sw-rqmc,ucv-sw-rqmc`); the `-rqmc` ones draw fresh RQMC
//!   directions (`DirectionKind::Rqmc`) inside every timed step, the others reuse one set of
//!   uniform directions (as the PyTorch anchor does); `dirs-uniform` and `dirs-rqmc` time
//!   drawing the `[L, d]` directions alone (`DirectionKind::Uniform`, `DirectionKind::Rqmc`);
//! * `SWBURN_BENCH_BURN_SORT=1`: on CubeCL devices also time `sw` with Burn's sort (host
//!   round-trip) instead of the device sort (`"sort": "burn-host"`);
//! * `SWBURN_BENCH_GLIBC_DEFAULTS=1`: leave glibc's `malloc` as it is (by default the bench calls
//!   `sw_loss::allocator::keep_freed_memory`, as the `experiments` binary does).

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use sw_loss::{
    BatchReduction, ControlVariate, DirectionKind, Directions, Gamma, Measure,
    cv_sw_with_directions, sw_with_directions,
};

struct Workload {
    name: &'static str,
    b: usize,
    n: usize,
    d: usize,
    l: usize,
}

const WORKLOADS: [Workload; 4] = [
    Workload {
        name: "flow",
        b: 1,
        n: 2048,
        d: 3,
        l: 100,
    },
    Workload {
        name: "pc_batch",
        b: 32,
        n: 2048,
        d: 3,
        l: 100,
    },
    Workload {
        name: "gen_feat",
        b: 1,
        n: 128,
        d: 8193,
        l: 10,
    },
    Workload {
        name: "large",
        b: 1,
        n: 65536,
        d: 3,
        l: 256,
    },
];

fn device_named(name: &str) -> Option<Device> {
    match name {
        "flex" => Some(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Some(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Some(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch" => Some(Device::libtorch()),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch-cuda" => Some(Device::libtorch_cuda(0)),
        _ => None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // As the `experiments` binary does; `SWBURN_BENCH_GLIBC_DEFAULTS=1` keeps glibc's defaults.
    if !std::env::var("SWBURN_BENCH_GLIBC_DEFAULTS").is_ok_and(|v| v == "1") {
        sw_loss::allocator::keep_freed_memory();
    }
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_else(|_| default.to_string())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let devices = list("SWBURN_BENCH_DEVICE", "flex");
    let only: Option<Vec<String>> = std::env::var("SWBURN_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|w| w.trim().to_string()).collect());
    let estimators = list(
        "SWBURN_BENCH_ESTIMATORS",
        "sw,lcv-sw,ucv-sw,sw-rqmc,lcv-sw-rqmc,ucv-sw-rqmc",
    );
    let burn_sort = std::env::var("SWBURN_BENCH_BURN_SORT").is_ok_and(|v| v == "1");
    for device_name in &devices {
        let Some(base) = device_named(device_name) else {
            eprintln!("skipping device `{device_name}`: not compiled in (enable its feature)");
            continue;
        };
        let device = base.clone().autodiff();
        device.seed(0);
        let adapter = sw_loss::kernel::cube_device_name(&base).unwrap_or_else(|| "cpu".into());
        eprintln!("{device_name}: {adapter}");
        for w in WORKLOADS.iter() {
            if let Some(only) = &only
                && !only.iter().any(|o| o == w.name)
            {
                continue;
            }
            let x = Tensor::<3>::random([w.b, w.n, w.d], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let y = Tensor::<3>::random([w.b, w.n, w.d], Distribution::Normal(1.0, 1.0), &device);
            let theta = sw_loss::directions::uniform(w.l, w.d, &device);
            let dirs = Directions::Shared(theta);
            let reps = if w.b * w.n * w.l > 1_000_000 { 5 } else { 15 };
            let device_sort = sw_loss::kernel::has_device_sort(&device);
            let mut runs: Vec<(&str, bool)> =
                estimators.iter().map(|e| (e.as_str(), true)).collect();
            if burn_sort && device_sort {
                runs.push(("sw", false));
            }
            for (estimator, use_device_sort) in runs {
                sw_loss::kernel::set_device_sort(use_device_sort);
                let sort = if !device_sort {
                    "cpu"
                } else if use_device_sort {
                    "device"
                } else {
                    "burn-host"
                };
                let step = || {
                    if let Some(kind) = estimator.strip_prefix("dirs-") {
                        let kind = match kind {
                            "uniform" => DirectionKind::Uniform,
                            "rqmc" => DirectionKind::Rqmc,
                            other => panic!("unknown direction kind `{other}`"),
                        };
                        let t = sw_loss::directions::sample(kind, w.l, w.d, &device);
                        let _ = t.slice([0..1, 0..1]).into_scalar::<f32>();
                        return;
                    }
                    let xm = Measure::new(x.clone());
                    let ym = Measure::new(y.clone());
                    let (base, rqmc) = match estimator.strip_suffix("-rqmc") {
                        Some(base) => (base, true),
                        None => (estimator, false),
                    };
                    let fresh;
                    let dirs = if rqmc {
                        fresh = Directions::Shared(sw_loss::directions::sample(
                            DirectionKind::Rqmc,
                            w.l,
                            w.d,
                            &device,
                        ));
                        &fresh
                    } else {
                        &dirs
                    };
                    let cv = |kind| {
                        cv_sw_with_directions(
                            &xm,
                            &ym,
                            dirs,
                            2.0,
                            kind,
                            Gamma::Fitted,
                            BatchReduction::Mean,
                        )
                    };
                    let loss = match base {
                        "sw" => sw_with_directions(&xm, &ym, dirs, 2.0, BatchReduction::Mean),
                        "ucv-sw" => cv(ControlVariate::Upper),
                        "lcv-sw" => cv(ControlVariate::Lower),
                        other => panic!("unknown estimator `{other}` in SWBURN_BENCH_ESTIMATORS"),
                    }
                    .expect("valid inputs");
                    let grads = loss.backward();
                    let g = x.grad(&grads).expect("gradient");
                    // Read one value back so asynchronous backends finish the work.
                    let _ = g.slice([0..1, 0..1, 0..1]).into_scalar::<f32>();
                };
                step();
                let times: Vec<f64> = (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        step();
                        t.elapsed().as_secs_f64()
                    })
                    .collect();
                println!(
                    "{{\"workload\": \"{}\", \"estimator\": \"{}\", \"device\": \"{}\", \"sort\": \"{}\", \"adapter\": \"{}\", \"B\": {}, \"n\": {}, \"d\": {}, \"L\": {}, \"median_s\": {:.6}}}",
                    w.name,
                    estimator,
                    device_name,
                    sort,
                    adapter.replace('"', "'"),
                    w.b,
                    w.n,
                    w.d,
                    w.l,
                    median(times)
                );
            }
            sw_loss::kernel::set_device_sort(true);
        }
    }
}
