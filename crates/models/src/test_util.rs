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

/// Central differences of a scalar function of three inputs against its three gradients: for
/// every entry i of every input j, `(f(.. + h ..) − f(.. − h ..)) / 2h` (h = 1e-6) equals
/// `grads[j].1[i]` within `1e-6 · (1 + |fd|)`; f64 inputs `base`, `grads[j].0` names input j in
/// the failure message.
pub(crate) fn assert_central_differences(
    base: &[Vec<f64>; 3],
    grads: [(&str, Vec<f64>); 3],
    f: impl Fn(&[f64], &[f64], &[f64]) -> f64,
) {
    let h = 1e-6;
    for (which, (name, grad)) in grads.iter().enumerate() {
        assert_eq!(grad.len(), base[which].len(), "{name}: lengths");
        for (i, g) in grad.iter().enumerate() {
            let (mut plus, mut minus) = (base.clone(), base.clone());
            plus[which][i] += h;
            minus[which][i] -= h;
            let fd =
                (f(&plus[0], &plus[1], &plus[2]) - f(&minus[0], &minus[1], &minus[2])) / (2.0 * h);
            assert!(
                (fd - g).abs() < 1e-6 * (1.0 + fd.abs()),
                "{name}[{i}]: {fd} vs {g}"
            );
        }
    }
}
