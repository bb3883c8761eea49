//! Seconds per image of the FID Inception-v3 forward (32×32 inputs resized to 299×299, pool3 +
//! logits), the cost that dominates `eval-gan` and periodic FID/IS scoring. Weights are Burn's
//! default initialisation: the arithmetic is the same as with the real weights.
//! `cargo bench -p models --bench inception [-- BATCH REPS]` prints one JSON line;
//! `SWBURN_BENCH_DEVICE=tch` (a build with `--features tch`) runs it on LibTorch's CPU backend.

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use common::time;
use models::inception::FidInception;

fn main() {
    common::keep_freed_memory();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let batch = args.first().copied().unwrap_or(16);
    let reps = args.get(1).copied().unwrap_or(3);
    let name = std::env::var("SWBURN_BENCH_DEVICE").unwrap_or_else(|_| "flex".into());
    let device = match name.as_str() {
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch" => Device::libtorch(),
        "flex" => Device::flex(),
        other => panic!("SWBURN_BENCH_DEVICE={other}: expected flex or tch"),
    };
    device.seed(0);
    let net = FidInception::new(&device);
    let images = Tensor::<4>::random(
        [batch, 3, 32, 32],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let s = time(reps, || {
        let out = net.forward(images.clone());
        std::hint::black_box(out.logits.sum().into_scalar::<f32>());
    });
    println!(
        "{{\"bench\": \"inception_forward\", \"device\": \"{name}\", \"batch\": {batch}, \"median_s\": {s:.4}, \"seconds_per_image\": {:.4}}}",
        s / batch as f64
    );
}
