//! Where an SNGAN step's time goes on flex: one 3×3 convolution (stride 1, padding 1) of the
//! discriminator's and generator's shapes, forward and forward+backward, with Burn's `conv2d`
//! and with `models::sngan::im2col::conv2d_im2col` (one GEMM forward, two backward).
//! `cargo bench -p models --bench conv_backward [-- CHANNELS BATCH SIDE REPS]`.

mod common;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use common::time;
use models::sngan::im2col::conv2d_im2col;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (c, b, side) = match args[..] {
        [c, b, s, ..] => (c, b, s),
        _ => (64, 32, 32),
    };
    let reps = args.get(3).copied().unwrap_or(3);
    let device = Device::flex().autodiff();
    device.seed(0);
    let x = Tensor::<4>::random([b, c, side, side], Distribution::Normal(0.0, 1.0), &device);
    let w = Tensor::<4>::random([c, c, 3, 3], Distribution::Normal(0.0, 0.05), &device);
    let bias = Tensor::<1>::zeros([c], &device);
    let burn_conv = |x: Tensor<4>, w: Tensor<4>, b: Tensor<1>| {
        conv2d(x, w, Some(b), ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
    };
    let im2col = |x: Tensor<4>, w: Tensor<4>, b: Tensor<1>| conv2d_im2col(x, w, Some(b), 1);
    println!("conv3×3 {c}→{c} ch, batch {b}, {side}², flex, median of {reps} (ms)");
    println!("| implementation | forward | forward + backward (∂x, ∂W, ∂b) |\n|---|---:|---:|");
    for (name, f) in [
        ("Burn conv2d", &burn_conv as &dyn Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>),
        ("im2col + matmul", &im2col),
    ] {
        let fwd = time(reps, || {
            let _ = f(x.clone(), w.clone(), bias.clone())
                .sum()
                .into_scalar::<f32>();
        });
        let fwd_bwd = time(reps, || {
            let xg = x.clone().require_grad();
            let wg = w.clone().require_grad();
            let bg = bias.clone().require_grad();
            let grads = f(xg.clone(), wg.clone(), bg).sum().backward();
            let _ = wg.grad(&grads).unwrap().sum().into_scalar::<f32>();
            let _ = xg.grad(&grads).unwrap().sum().into_scalar::<f32>();
        });
        println!("| {name} | {:.1} | {:.1} |", fwd * 1e3, fwd_bwd * 1e3);
    }
}
