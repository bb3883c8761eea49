//! Helpers shared by the kernel tests of this crate (`conv`, `norm`, `resample`).

use burn::tensor::Tensor;

/// The values of `t` as f64, in row-major order.
pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

/// `|a_i − b_i| ≤ tol · max(1, max_j |b_j|)` for every i, naming `what` and i on failure.
pub(crate) fn assert_close_scaled(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: {x} vs {y} (scale {scale})"
        );
    }
}
