//! Reading a tensor back to the host for the combinatorial parts of the ops (sorts, merges,
//! searches) that run in f64 on the CPU.

use burn::tensor::Tensor;

/// The values of `t`, detached, as f64 in row-major order.
pub(crate) fn host<const D: usize>(t: &Tensor<D>) -> Vec<f64> {
    t.clone()
        .detach()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64")
}
