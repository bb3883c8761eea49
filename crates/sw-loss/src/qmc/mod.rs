//! Randomized quasi-Monte Carlo (RQMC) directions on S^{d−1}: low-discrepancy point sets
//! under a randomisation that makes every single direction exactly Unif(S^{d−1}), so the
//! SW, LCV-SW and UCV-SW estimates stay unbiased while the L directions cover the sphere more
//! evenly than i.i.d. draws.
//!
//! ```text
//! d = 2   θ_i = (cos(φ₀ + 2πi/L), sin(φ₀ + 2πi/L)),  φ₀ ~ Unif[0, 2π)      (rotated circle lattice)
//! d = 3   θ_i = Q p_i,  p_i the Fibonacci lattice of L points ([`fibonacci_points`]),
//!         Q ~ Haar(O(3))                                                   (rotated Fibonacci)
//! any d   u_i ∈ [0, 1)^d  the scrambled Halton point i = 0..L−1:
//!           u_{i,k} = Σ_{j<J_k} ((s_{kj} a_j(i) + t_{kj}) mod b_k) b_k^{−(j+1)} + v_{ik} b_k^{−J_k}
//!           b_k the k-th prime, a_j(i) the j-th base-b_k digit of i, s_{kj} ~ Unif{1..b_k−1},
//!           t_{kj} ~ Unif{0..b_k−1}, v_{ik} ~ Unif[0, 1), b_k^{J_k} ≥ 2^52
//!         g_{i,k} = Φ⁻¹(u_{i,k}),  θ_i = g_i / ‖g_i‖                      (scrambled Halton)
//! ```
//! Why unbiased: a Haar rotation of a fixed unit vector is uniform on the sphere; in the Halton
//! construction every scrambled digit (s a + t) mod b with t uniform is uniform and
//! independent across digits and coordinates, so u_i ~ Unif[0, 1)^d, g_i ~ N(0, I_d) and
//! θ_i ~ Unif(S^{d−1}). The closed forms `E[C]` of the control variates therefore still hold.
//! Why lower variance: the L points are stratified jointly (the first L ≤ b_k points of each
//! coordinate fall in distinct cells of width 1/b_k), so the errors of the directions cancel.
//! References: Owen, "Scrambling Sobol' and Niederreiter–Xing points" (1998) and Matoušek,
//! "On the L2-discrepancy for anchored boxes" (1998) for random digit scrambling; González,
//! "Measurement of areas on a sphere using Fibonacci and latitude–longitude lattices" (2010).
//!
//! Large d (d ≥ [`FRAME_MIN_D`], L ≤ min(d/2, [`FRAME_MAX_L`])): the random frame over a cached Halton set. Scrambled
//! Halton costs L·d inverse-normal evaluations per draw (and the scramble's digit tables), which
//! dominated a training step in feature spaces (d = 8193: several ms per step). Instead:
//! ```text
//! once per (L, d, scramble seed)   Θ₀ [L, d]   the scrambled Halton directions (unit rows, as above)
//!                                  Θ₀ᵀ = U R   thin QR, R [L, L] upper triangular, columns ‖r_l‖ = 1
//! every draw                       V [d, L]    Haar on the Stiefel manifold: Q of the QR of a
//!                                              Gaussian d × L matrix G with positive diag(S), G = V S
//!                                  Θᵀ = V R = G (S⁻¹ R)
//! ```
//! Why still exactly uniform: for a fixed unit vector r, V r is Haar-rotated, hence θ_l = V r_l ~
//! Unif(S^{d−1}) for every l, so the estimators stay unbiased and the closed forms E\[C\] of the
//! control variates hold. What is kept of the QMC set: its Gram matrix, ΘΘᵀ = RᵀVᵀVR = RᵀR =
//! Θ₀Θ₀ᵀ, i.e. all pairwise angles of the L directions (a rigid rotation of Θ₀ restricted to
//! its span). Cost per draw: L·d Gaussian draws (a xoshiro256++ generator seeded from the
//! device RNG, parallel over rows), the L × L Gram GᵀG, its Cholesky factor S (= the QR's S),
//! and Θᵀ = G M with M = S⁻¹R upper triangular: O(d L²) flops, no inverse normal. The Cholesky
//! route squares the condition number of G; for a Gaussian d × L matrix with L ≤ d/2 that is
//! about ((1 + √(L/d)) / (1 − √(L/d)))² ≤ 34 (Marchenko–Pastur), so in f64 the rows are unit
//! and the Gram matrix is kept to ~1e-14. Beyond L = [`FRAME_MAX_L`] the O(d L²) of the frame
//! costs about as much as the L·d inverse normals it replaces; there, and where L > d/2, the
//! scrambled Halton sets are drawn afresh, as for small d.
//!
//! The randomness is drawn from the device RNG (one read of 4 uniforms seeds a host RNG), so
//! `device.seed(..)` makes the directions reproducible, as for the other samplers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use rand::rngs::{SmallRng, StdRng};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rayon::prelude::*;

mod fibonacci;
mod frame;
mod halton;
mod normal_quantile;

pub use fibonacci::fibonacci_points;
#[allow(unused_imports)]
use fibonacci::*;
#[allow(unused_imports)]
use frame::*;
pub use frame::{
    FRAME_BASE_SEED, FRAME_MAX_L, FRAME_MIN_D, frame_base_set, frame_directions,
    frame_directions_host,
};
pub(crate) use halton::halton_directions_seeded;
#[allow(unused_imports)]
use halton::*;
pub use halton::{halton_directions, scrambled_halton};
pub use normal_quantile::normal_quantile;

/// A host RNG: seeded from `seed` when given, else from the device RNG (reproducible under
/// `device.seed`).
fn host_rng(device: &Device, seed: Option<u64>) -> StdRng {
    if let Some(seed) = seed {
        return StdRng::seed_from_u64(seed);
    }
    let u: Vec<f64> = Tensor::<1>::random([4], Distribution::Uniform(0.0, 1.0), device)
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64 data");
    let seed = u
        .iter()
        .fold(0u64, |acc, v| (acc << 16) | ((v * 65536.0) as u64 & 0xffff));
    StdRng::seed_from_u64(seed)
}

/// A Haar-distributed orthogonal 3×3 matrix (Gram–Schmidt of a Gaussian matrix), row-major.
fn haar_orthogonal_3(rng: &mut StdRng) -> [f64; 9] {
    let mut q = [0f64; 9];
    for v in q.iter_mut() {
        *v = rng.sample(StandardNormal);
    }
    for i in 0..3 {
        for j in 0..i {
            let dot: f64 = (0..3).map(|k| q[i * 3 + k] * q[j * 3 + k]).sum();
            for k in 0..3 {
                q[i * 3 + k] -= dot * q[j * 3 + k];
            }
        }
        let norm = (0..3).map(|k| q[i * 3 + k].powi(2)).sum::<f64>().sqrt();
        for k in 0..3 {
            q[i * 3 + k] /= norm;
        }
    }
    q
}

/// L directions by the lattice best suited to d: the rotated circle lattice (d = 2), the
/// rotated Fibonacci lattice (d = 3), the random frame over a cached scrambled-Halton set for
/// d ≥ [`FRAME_MIN_D`] with L ≤ min(d/2, [`FRAME_MAX_L`]) ([`frame_directions`]), scrambled
/// Halton otherwise (d = 1, 4 ≤ d < [`FRAME_MIN_D`], and larger L): `[L, d]` in `dtype`.
pub fn rqmc_directions(l: usize, d: usize, device: &Device, dtype: DType) -> Tensor<2> {
    rqmc_directions_seeded(l, d, device, dtype, None)
}

/// [`rqmc_directions`] with the randomisation drawn from `seed` (None: the device RNG).
pub(crate) fn rqmc_directions_seeded(
    l: usize,
    d: usize,
    device: &Device,
    dtype: DType,
    seed: Option<u64>,
) -> Tensor<2> {
    if d >= FRAME_MIN_D && 2 * l <= d && l <= FRAME_MAX_L {
        return frame_directions_seeded(l, d, device, dtype, seed);
    }
    match d {
        2 => {
            let mut rng = host_rng(device, seed);
            let start = rng.random::<f64>() * std::f64::consts::TAU;
            let v: Vec<f64> = (0..l)
                .flat_map(|i| {
                    let a = start + std::f64::consts::TAU * i as f64 / l as f64;
                    [a.cos(), a.sin()]
                })
                .collect();
            Tensor::from_data(TensorData::new(v, [l, 2]), (device, dtype))
        }
        3 => {
            let mut rng = host_rng(device, seed);
            let q = haar_orthogonal_3(&mut rng);
            let p = fibonacci_points(l);
            let v: Vec<f64> = p
                .chunks_exact(3)
                .flat_map(|pt| [0, 1, 2].map(|r| (0..3).map(|c| q[r * 3 + c] * pt[c]).sum::<f64>()))
                .collect();
            Tensor::from_data(TensorData::new(v, [l, 3]), (device, dtype))
        }
        _ => halton_directions_seeded(l, d, device, dtype, seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_are_the_first_primes() {
        assert_eq!(primes(10), vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        let many = primes(8193);
        assert_eq!(many.len(), 8193);
        // The 8193rd prime (OEIS A000040).
        assert_eq!(many[8192], 84_047);
    }

    #[test]
    fn quantile_matches_known_values() {
        // scipy.special.ndtri
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959963984540054),
            (0.8413447460685429, 1.0),
            (0.022750131948179195, -2.0000000000000004),
            (1e-10, -6.361340902404056),
            (1e-300, -37.0470962993612),
        ] {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() <= 1e-13 * z.abs().max(1.0),
                "Φ⁻¹({p}) = {got}, want {z}"
            );
        }
    }

    #[test]
    fn first_halton_digits_stratify_each_coordinate() {
        // With L ≤ b the L values of coordinate k lie in L distinct cells of width 1/b.
        let mut rng = StdRng::seed_from_u64(3);
        let (l, d) = (7, 5);
        let u = scrambled_halton(l, d, &mut rng);
        let bases = primes(d);
        for (k, &b) in bases.iter().enumerate() {
            if (l as u64) > b {
                continue;
            }
            let mut cells: Vec<u64> = (0..l).map(|i| (u[i * d + k] * b as f64) as u64).collect();
            cells.sort();
            cells.dedup();
            assert_eq!(cells.len(), l, "coordinate {k} (base {b})");
        }
        assert!(u.iter().all(|v| (0.0..1.0).contains(v)));
    }
}
