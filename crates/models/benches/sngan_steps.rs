//! SNGAN step times on the CPU: one discriminator step (hinge loss, G(z) without graph, D on
//! real and fake, backward, Adam) and one generator step (feature-space SW, L = 10, through a
//! frozen D, backward, Adam) for the paper's CIFAR-10 networks (G 256 ch, D 128 ch) at batch
//! 128, plus the parts of each.
//! `cargo bench -p models --bench sngan_steps [-- CH_G CH_D BATCH REPS]`; the PyTorch twin is
//! `scripts/sngan_torch_bench.py` with the same arguments. `SWBURN_BENCH_DEVICE` picks the
//! device: `flex` (default; the GEMM convolution of `models::conv`), `flex-burn-conv` (Burn-flex's
//! own conv2d), `default` (`Device::default()`: the GPU in a build with `wgpu`), `tch` and
//! `tch-cuda` (LibTorch, a build with `--features tch`); every timed step ends with a one-value
//! read, so queued device work is inside the time.

mod common;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor};
use common::time;
use models::sngan::{DiscriminatorConfig, GeneratorConfig};
use sw_loss::{LossConfig, Measure};

fn main() {
    common::keep_freed_memory();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (ch_g, ch_d, b) = match args[..] {
        [g, d, b, ..] => (g, d, b),
        _ => (256, 128, 128),
    };
    let reps = args.get(3).copied().unwrap_or(5);
    let choice = std::env::var("SWBURN_BENCH_DEVICE").unwrap_or_else(|_| "flex".into());
    let (base, device_name) = match choice.as_str() {
        "default" => {
            let d = Device::default();
            let name = sw_loss::kernel::cube_device_name(&d).unwrap_or_else(|| "default".into());
            (d, name)
        }
        // Burn-flex's own conv2d instead of the GEMM convolution (models::conv).
        "flex-burn-conv" => {
            models::conv::set_gemm_conv(false);
            (Device::flex(), "flex, Burn's conv2d".into())
        }
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch" => (Device::libtorch(), "tch (LibTorch CPU)".into()),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch-cuda" => (
            Device::libtorch_cuda(0),
            "tch-cuda:0 (LibTorch CUDA)".into(),
        ),
        "flex" => (Device::flex(), "flex, GEMM conv".into()),
        other => panic!(
            "SWBURN_BENCH_DEVICE={other}: expected flex, flex-burn-conv, default, tch, tch-cuda"
        ),
    };
    let device = base.autodiff();
    device.seed(0);
    // A read of a value made after everything queued: the device has finished the step.
    let settle = || {
        let _ = Tensor::<1>::zeros([1], &device).into_scalar::<f32>();
    };
    let g_cfg = GeneratorConfig {
        channels: ch_g,
        ..Default::default()
    };
    let d_cfg = DiscriminatorConfig {
        channels: ch_d,
        ..Default::default()
    };
    let mut g = g_cfg.init(&device);
    let mut d = d_cfg.init(&device);
    let mut opt_g = AdamConfig::new()
        .with_beta_1(0.0)
        .with_beta_2(0.9)
        .with_epsilon(1e-8)
        .init();
    let mut opt_d = AdamConfig::new()
        .with_beta_1(0.0)
        .with_beta_2(0.9)
        .with_epsilon(1e-8)
        .init();
    let z = || Tensor::<2>::random([b, 128], Distribution::Normal(0.0, 1.0), &device);
    let real = Tensor::<4>::random([b, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &device);
    let loss = LossConfig {
        projections: 10,
        ..LossConfig::default()
    };
    let sync = |t: Tensor<1>| t.into_scalar::<f32>();

    let g_fwd = time(reps, || {
        let x = g.clone().no_grad().forward(z());
        let _ = x.sum().into_scalar::<f32>();
    });
    let d_fwd = time(reps, || {
        let _ = sync(d.forward(real.clone()).output.sum());
    });
    let d_fwd_bwd = time(reps, || {
        let l = d.forward(real.clone()).output.mean();
        let _ = l.backward();
        settle();
    });
    let d_fwd_bwd_adam = time(reps, || {
        let l = d.forward(real.clone()).output.mean();
        let grads = GradientsParams::from_grads(l.backward(), &d);
        d = opt_d.step(2e-4, d.clone(), grads);
        settle();
    });
    let d_step = time(reps, || {
        let fake = g.clone().no_grad().forward(z()).detach();
        let l = relu(d.forward(real.clone()).output.neg().add_scalar(1.0)).mean()
            + relu(d.forward(fake).output.add_scalar(1.0)).mean();
        let grads = GradientsParams::from_grads(l.backward(), &d);
        d = opt_d.step(2e-4, d.clone(), grads);
        settle();
    });
    let g_step = time(reps, || {
        let frozen = d.clone().no_grad();
        let xr = frozen.forward(real.clone()).feature_vector().detach();
        let xf = frozen.forward(g.forward(z())).feature_vector();
        let l = loss
            .forward(
                &Measure::new(xr.unsqueeze_dim::<3>(0)),
                &Measure::new(xf.unsqueeze_dim::<3>(0)),
            )
            .unwrap();
        let grads = GradientsParams::from_grads(l.backward(), &g);
        g = opt_g.step(2e-4, g.clone(), grads);
        settle();
    });
    println!(
        "SNGAN CIFAR-10 (G {ch_g} ch, D {ch_d} ch), batch {b}, {device_name}, median of {reps}"
    );
    println!("| part | ms |\n|---|---:|");
    for (name, s) in [
        ("G forward (no graph)", g_fwd),
        ("D forward", d_fwd),
        ("D forward+backward", d_fwd_bwd),
        ("D forward+backward+Adam", d_fwd_bwd_adam),
        ("discriminator step (G fwd + 2 D fwd + bwd + Adam)", d_step),
        ("generator step (2 D fwd + G fwd + SW + bwd + Adam)", g_step),
        (
            "generator step + 5 discriminator steps",
            g_step + 5.0 * d_step,
        ),
    ] {
        println!("| {name} | {:.1} |", s * 1e3);
    }
}
