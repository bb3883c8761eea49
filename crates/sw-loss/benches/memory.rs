//! Peak memory and time of one SW₂ forward + backward at sizes where the projections
//! `[n + m, L]` no longer fit: the memory table of BENCHMARKS.md.
//!
//! `cargo bench -p sw-loss --bench memory -- N L D [BUDGET_BYTES]` draws x, y ~ N(0, I) and
//! N(1, I) with N points each in R^D, L uniform directions, and prints one JSON line
//! `{"n", "l", "d", "chunk", "estimated_bytes", "forward_backward_s", "sw2"}` after one
//! forward + backward of SW₂ (MC, f32, Flex) with the gradient to x. Peak RSS is read from
//! the outside (`/usr/bin/time -v`), as `scripts/bench/memory_table.py` does; the PyTorch and
//! POT twins are in `scripts/bench/memory_twin.py`.

use std::time::Instant;

use burn::tensor::{DType, Device, Distribution, Tensor};
use sw_loss::{DEFAULT_MEMORY_BUDGET, SlicedWassersteinConfig, SwValue};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.len() < 3 {
        eprintln!("usage: memory N L D [BUDGET_BYTES]");
        std::process::exit(2);
    }
    let parse = |i: usize| args[i].parse::<u64>().expect("a whole number");
    let (n, l, d) = (parse(0) as usize, parse(1) as usize, parse(2) as usize);
    let budget = if args.len() > 3 {
        parse(3)
    } else {
        DEFAULT_MEMORY_BUDGET
    };
    sw_loss::allocator::keep_freed_memory();
    let device = Device::flex().autodiff();
    device.seed(0);
    let x = Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let y = Tensor::<2>::random([n, d], Distribution::Normal(1.0, 1.0), &device);
    let loss = SlicedWassersteinConfig::new(SwValue::Distance)
        .with_projections(l)
        .with_memory_budget(budget)
        .init()
        .expect("config");
    let plan = loss.plan_memory(1, n, n, d, DType::F32).expect("plan");
    let start = Instant::now();
    let value = loss.forward(x.clone(), y);
    let grads = value.backward();
    let g = x.grad(&grads).expect("gradient");
    let g_norm = g.square().sum().into_scalar::<f32>();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"n\": {n}, \"l\": {l}, \"d\": {d}, \"chunk\": {}, \"estimated_bytes\": {}, \
         \"forward_backward_s\": {seconds:.3}, \"sw2\": {}, \"grad_sq_norm\": {g_norm}}}",
        plan.chunk,
        plan.estimated_bytes,
        value.into_scalar::<f32>()
    );
}
