//! The Fibonacci (golden-spiral) lattice on S².

#[allow(unused_imports)]
use super::*;

/// The Fibonacci (golden-spiral) lattice of n points on S², host data row-major `[n, 3]`:
///
/// ```text
/// z_i = 1 − (2i + 1)/n,  r_i = √(1 − z_i²),  φ_i = i · π(3 − √5)
/// θ_i = (r_i cos φ_i, r_i sin φ_i, z_i)
/// ```
/// It lives here with the other QMC point sets; the direction samplers (which dispatch to
/// this file) wrap it as a tensor.
pub fn fibonacci_points(n: usize) -> Vec<f64> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut v = Vec::with_capacity(n * 3);
    for i in 0..n {
        let z = 1.0 - (2.0 * i as f64 + 1.0) / n as f64;
        let r = (1.0 - z * z).max(0.0).sqrt();
        let phi = golden * i as f64;
        v.extend_from_slice(&[r * phi.cos(), r * phi.sin(), z]);
    }
    v
}
