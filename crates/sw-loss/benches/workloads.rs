//! Forward+backward time of the estimators on the four workloads of
//! `../shared/bench/anchor_bench.py` (which times PyTorch and POT on the same shapes).
//!
//! `cargo bench -p sw-loss --bench workloads` prints one JSON line per workload and estimator:
//! `{"workload", "estimator", "device", "median_s", ...}`. Devices: `flex` always, plus any in
//! `SWBURN_BENCH_DEVICE` (comma-separated: `flex`, `ndarray`, `wgpu`). `SWBURN_BENCH_ONLY`
//! restricts to a comma-separated list of workloads.

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use sw_loss::{
    ControlVariate, Directions, Measure, Reduction, cv_sw_with_directions, sw_with_directions,
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
        _ => None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut devices = vec!["flex".to_string()];
    if let Ok(extra) = std::env::var("SWBURN_BENCH_DEVICE") {
        for name in extra
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "flex")
        {
            devices.push(name.to_string());
        }
    }
    let only: Option<Vec<String>> = std::env::var("SWBURN_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|w| w.trim().to_string()).collect());
    for device_name in &devices {
        let Some(base) = device_named(device_name) else {
            eprintln!("skipping device `{device_name}`: not compiled in (enable its feature)");
            continue;
        };
        let device = base.clone().autodiff();
        device.seed(0);
        for w in WORKLOADS.iter() {
            if let Some(only) = &only {
                if !only.iter().any(|o| o == w.name) {
                    continue;
                }
            }
            let x = Tensor::<3>::random([w.b, w.n, w.d], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let y = Tensor::<3>::random([w.b, w.n, w.d], Distribution::Normal(1.0, 1.0), &device);
            let theta = sw_loss::directions::uniform(w.l, w.d, &device);
            let dirs = Directions::Shared(theta);
            let reps = if w.b * w.n * w.l > 1_000_000 { 5 } else { 15 };
            for estimator in ["sw", "lcv-sw", "ucv-sw"] {
                let step = || {
                    let xm = Measure::new(x.clone());
                    let ym = Measure::new(y.clone());
                    let loss = match estimator {
                        "sw" => sw_with_directions(&xm, &ym, &dirs, 2.0, Reduction::Mean),
                        "lcv-sw" => cv_sw_with_directions(
                            &xm,
                            &ym,
                            &dirs,
                            2.0,
                            ControlVariate::Lower,
                            false,
                            Reduction::Mean,
                        ),
                        _ => cv_sw_with_directions(
                            &xm,
                            &ym,
                            &dirs,
                            2.0,
                            ControlVariate::Upper,
                            false,
                            Reduction::Mean,
                        ),
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
                    "{{\"workload\": \"{}\", \"estimator\": \"{}\", \"device\": \"{}\", \"B\": {}, \"n\": {}, \"d\": {}, \"L\": {}, \"median_s\": {:.6}}}",
                    w.name,
                    estimator,
                    device_name,
                    w.b,
                    w.n,
                    w.d,
                    w.l,
                    median(times)
                );
            }
        }
    }
}
