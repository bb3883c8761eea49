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
//! θ_i ~ Unif(S^{d−1}). The closed forms E[C] of the control variates therefore still hold.
//! Why lower variance: the L points are stratified jointly (the first L ≤ b_k points of each
//! coordinate fall in distinct cells of width 1/b_k), so the errors of the directions cancel.
//! References: Owen, "Scrambling Sobol' and Niederreiter–Xing points" (1998) and Matoušek,
//! "On the L2-discrepancy for anchored boxes" (1998) for random digit scrambling; González,
//! "Measurement of areas on a sphere using Fibonacci and latitude–longitude lattices" (2010).
//!
//! The randomness is drawn from the device RNG (one read of 4 uniforms seeds a host RNG), so
//! `device.seed(..)` makes the directions reproducible, as for the other samplers.

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;


/// A host RNG seeded from the device RNG (reproducible under `device.seed`).
fn host_rng(device: &Device) -> StdRng {
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

/// The first `count` primes; the first 10 000 are sieved once per process.
fn primes(count: usize) -> Vec<u64> {
    static FIRST: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    const CACHED: usize = 10_000;
    if count <= CACHED {
        return FIRST.get_or_init(|| sieve(CACHED))[..count].to_vec();
    }
    sieve(count)
}

/// The first `count` primes (sieve of Eratosthenes).
fn sieve(count: usize) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    // p_k < k (ln k + ln ln k) for k ≥ 6.
    let k = count.max(6) as f64;
    let bound = (k * (k.ln() + k.ln().ln())) as usize + 10;
    let mut composite = vec![false; bound + 1];
    let mut out = Vec::with_capacity(count);
    for i in 2..=bound {
        if composite[i] {
            continue;
        }
        out.push(i as u64);
        if out.len() == count {
            break;
        }
        let mut j = i * i;
        while j <= bound {
            composite[j] = true;
            j += i;
        }
    }
    out
}

/// Φ⁻¹(p), the standard normal quantile, for p ∈ (0, 1): Wichura's AS 241 (PPND16), relative
/// accuracy about 1e-16.
pub fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r
                + 67265.770927008700853)
                * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852545925 + 28729.085735721942674) * r
                + 39307.89580009271061)
                * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r
                + 0.0151986665636164571966)
                * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r
                + 1.8463183175100546818e-5)
                * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 { -value } else { value }
}

/// The L scrambled Halton points in [0, 1)^d, row-major `[L, d]` (see the module formula).
pub fn scrambled_halton(l: usize, d: usize, rng: &mut StdRng) -> Vec<f64> {
    let bases = primes(d);
    let mut out = vec![0f64; l * d];
    for (k, &b) in bases.iter().enumerate() {
        let bf = b as f64;
        // Digits until b^J ≥ 2^52 (beyond that a digit no longer changes an f64 in [0, 1)).
        let digits = (52.0 * std::f64::consts::LN_2 / bf.ln()).ceil() as usize;
        let scramble: Vec<(u64, u64)> = (0..digits)
            .map(|_| (rng.random_range(1..b), rng.random_range(0..b)))
            .collect();
        let last = bf.powi(-(digits as i32));
        // tail[j] = Σ_{j' ≥ j} t_{kj'} b^{−(j'+1)}: the digits of i above its highest one are 0,
        // so their scrambled values are the shifts alone (one division per nonzero digit).
        let mut tail = vec![0f64; digits + 1];
        for j in (0..digits).rev() {
            tail[j] = tail[j + 1] + scramble[j].1 as f64 * bf.powi(-(j as i32 + 1));
        }
        for i in 0..l {
            let mut rest = i as u64;
            let mut scale = 1.0 / bf;
            let mut u = 0.0;
            let mut j = 0;
            while rest > 0 && j < digits {
                let (s, t) = scramble[j];
                let a = rest % b;
                rest /= b;
                u += ((s * a + t) % b) as f64 * scale;
                scale /= bf;
                j += 1;
            }
            u += tail[j] + rng.random::<f64>() * last;
            out[i * d + k] = u.min(1.0 - f64::EPSILON / 2.0);
        }
    }
    out
}

/// Maps points of [0, 1)^d to S^{d−1}: Φ⁻¹ per coordinate, then unit rows (in place).
fn to_sphere(u: &mut [f64], d: usize) {
    for row in u.chunks_mut(d) {
        for v in row.iter_mut() {
            *v = normal_quantile(v.clamp(1e-300, 1.0 - f64::EPSILON / 2.0));
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
        row.iter_mut().for_each(|v| *v /= norm);
    }
}

/// L scrambled-Halton directions on S^{d−1}, any d: `[L, d]` in `dtype`.
pub fn halton_directions(l: usize, d: usize, device: &Device, dtype: DType) -> Tensor<2> {
    let mut rng = host_rng(device);
    let mut u = scrambled_halton(l, d, &mut rng);
    to_sphere(&mut u, d);
    Tensor::from_data(TensorData::new(u, [l, d]), (device, dtype))
}

/// L directions by the lattice best suited to d: the rotated circle lattice (d = 2), the
/// rotated Fibonacci lattice (d = 3), scrambled Halton otherwise (d = 1 and d ≥ 4): `[L, d]`
/// in `dtype`.
pub fn rqmc_directions(l: usize, d: usize, device: &Device, dtype: DType) -> Tensor<2> {
    match d {
        2 => {
            let mut rng = host_rng(device);
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
            let mut rng = host_rng(device);
            let q = haar_orthogonal_3(&mut rng);
            let p = fibonacci_points(l);
            let v: Vec<f64> = p
                .chunks_exact(3)
                .flat_map(|pt| [0, 1, 2].map(|r| (0..3).map(|c| q[r * 3 + c] * pt[c]).sum::<f64>()))
                .collect();
            Tensor::from_data(TensorData::new(v, [l, 3]), (device, dtype))
        }
        _ => halton_directions(l, d, device, dtype),
    }
}

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
