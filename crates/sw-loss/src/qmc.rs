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
    halton_directions_seeded(l, d, device, dtype, None)
}

/// [`halton_directions`] with the randomisation drawn from `seed` (None: the device RNG).
pub(crate) fn halton_directions_seeded(
    l: usize,
    d: usize,
    device: &Device,
    dtype: DType,
    seed: Option<u64>,
) -> Tensor<2> {
    let mut rng = host_rng(device, seed);
    let mut u = scrambled_halton(l, d, &mut rng);
    to_sphere(&mut u, d);
    Tensor::from_data(TensorData::new(u, [l, d]), (device, dtype))
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

/// From this dimension on (and for L ≤ min(d/2, [`FRAME_MAX_L`])), [`rqmc_directions`] draws a
/// random frame over a cached scrambled-Halton set ([`frame_directions`]) instead of a fresh
/// Halton set.
pub const FRAME_MIN_D: usize = 64;

/// The largest L for which [`rqmc_directions`] uses the random frame.
pub const FRAME_MAX_L: usize = 64;

/// The scramble seed of the cached base sets Θ₀ (fixed: the randomisation of a draw is its
/// frame, so one scramble per (L, d) suffices).
pub const FRAME_BASE_SEED: u64 = 0x5157_4d43_4652_4d31;

/// The cached base sets stop growing beyond this many (L, d) pairs (the cache is then cleared).
const FRAME_CACHE_MAX: usize = 64;

/// The scrambled-Halton base set Θ₀ `[L, d]` (unit rows, row-major f64) of the random-frame
/// sampler: [`scrambled_halton`] under the fixed scramble `seed`, through Φ⁻¹, normalised.
pub fn frame_base_set(l: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut u = scrambled_halton(l, d, &mut rng);
    to_sphere(&mut u, d);
    u
}

/// `a·b + c`, one FMA instruction where the caller is compiled with FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// ⟨a, b⟩ in f64 with 16 independent partial sums (vectorises and pipelines).
#[inline(always)]
fn dot_with<const FMA: bool>(a: &[f64], b: &[f64]) -> f64 {
    const W: usize = 16;
    let mut acc = [0f64; W];
    let (ca, cb) = (a.chunks_exact(W), b.chunks_exact(W));
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail = madd::<FMA>(*x, *y, tail);
    }
    for (x, y) in ca.zip(cb) {
        for k in 0..W {
            acc[k] = madd::<FMA>(x[k], y[k], acc[k]);
        }
    }
    let mut width = W;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0] + tail
}

/// ⟨a, b⟩ in f64 (the portable build of [`dot_with`]).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    dot_with::<false>(a, b)
}

/// `part[i·L + j] = ⟨rows_i, rows_j⟩` for i ≤ j.
#[inline(always)]
fn gram_upper_body<const FMA: bool>(rows: &[&[f64]], part: &mut [f64]) {
    let l = rows.len();
    for i in 0..l {
        for j in i..l {
            part[i * l + j] = dot_with::<FMA>(rows[i], rows[j]);
        }
    }
}

/// y += α x.
#[inline(always)]
fn axpy_body<const FMA: bool>(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut()
        .zip(x)
        .for_each(|(t, v)| *t = madd::<FMA>(alpha, *v, *t));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gram_upper_avx2(rows: &[&[f64]], part: &mut [f64]) {
    gram_upper_body::<true>(rows, part)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2(alpha: f64, x: &[f64], y: &mut [f64]) {
    axpy_body::<true>(alpha, x, y)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// [`gram_upper_body`], compiled for AVX2 where the CPU has it (Burn builds for baseline
/// x86-64).
fn gram_upper(rows: &[&[f64]], part: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { gram_upper_avx2(rows, part) };
    }
    gram_upper_body::<false>(rows, part)
}

/// [`axpy_body`], compiled for AVX2 where the CPU has it.
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { axpy_avx2(alpha, x, y) };
    }
    axpy_body::<false>(alpha, x, y)
}

/// The factor R `[L, L]` (row-major, upper triangular) of the thin QR Θ₀ᵀ = U R of the base set
/// for (L, d, seed), by modified Gram–Schmidt on the rows of Θ₀ with one reorthogonalisation;
/// computed once and cached.
fn frame_base_factor(l: usize, d: usize, seed: u64) -> Arc<Vec<f64>> {
    #[allow(clippy::type_complexity)]
    static CACHE: OnceLock<Mutex<HashMap<(usize, usize, u64), Arc<Vec<f64>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(r) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(l, d, seed))
    {
        return r.clone();
    }
    let mut q = frame_base_set(l, d, seed);
    let mut r = vec![0f64; l * l];
    for i in 0..l {
        for _pass in 0..2 {
            for j in 0..i {
                let (done, rest) = q.split_at_mut(i * d);
                let (qj, qi) = (&done[j * d..(j + 1) * d], &mut rest[..d]);
                let h = dot(qj, qi);
                r[j * l + i] += h;
                qi.iter_mut().zip(qj).for_each(|(a, b)| *a -= h * b);
            }
        }
        let qi = &mut q[i * d..(i + 1) * d];
        let norm = dot(qi, qi).sqrt();
        assert!(
            norm > 1e-8,
            "frame_directions: the base set of L = {l} in d = {d} is (numerically) rank-deficient"
        );
        r[i * l + i] = norm;
        qi.iter_mut().for_each(|v| *v /= norm);
    }
    let r = Arc::new(r);
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    if guard.len() >= FRAME_CACHE_MAX {
        guard.clear();
    }
    guard.insert((l, d, seed), r.clone());
    r
}

/// L randomized-QMC directions in large d: a Haar-random frame V `[d, L]` applied to the
/// cached scrambled-Halton set's R (see the module documentation): `Θᵀ = V R`, `[L, d]` in
/// `dtype`. Every row is exactly Unif(S^{d−1}); the Gram matrix ΘΘᵀ is the base set's. Needs
/// L ≤ d; [`rqmc_directions`] uses it for L ≤ min(d/2, [`FRAME_MAX_L`]), where the frame is well
/// conditioned.
pub fn frame_directions(l: usize, d: usize, device: &Device, dtype: DType) -> Tensor<2> {
    frame_directions_seeded(l, d, device, dtype, None)
}

fn frame_directions_seeded(
    l: usize,
    d: usize,
    device: &Device,
    dtype: DType,
    seed: Option<u64>,
) -> Tensor<2> {
    let seed: u64 = host_rng(device, seed).random();
    let data = match dtype {
        DType::F64 => {
            let mut out = vec![0f64; l * d];
            frame_into(l, d, seed, FRAME_BASE_SEED, &mut out, |v| v);
            TensorData::new(out, [l, d])
        }
        _ => {
            let mut out = vec![0f32; l * d];
            frame_into(l, d, seed, FRAME_BASE_SEED, &mut out, |v| v as f32);
            TensorData::new(out, [l, d])
        }
    };
    Tensor::from_data(data, (device, dtype))
}

/// [`frame_directions`] on the host: `[L, d]` row-major f64, the frame drawn from `seed`, the
/// base set scrambled with `base_seed`.
pub fn frame_directions_host(l: usize, d: usize, seed: u64, base_seed: u64) -> Vec<f64> {
    let mut out = vec![0f64; l * d];
    frame_into(l, d, seed, base_seed, &mut out, |v| v);
    out
}

/// Columns of the output per parallel task of the last step of [`frame_into`].
const FRAME_COLUMNS: usize = 512;

/// The Gaussian matrix of [`frame_into`] lives in a per-thread buffer that is reused (no page
/// faults on fresh memory every draw) up to this many elements.
const FRAME_SCRATCH_MAX: usize = 1 << 23;

thread_local! {
    static FRAME_SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes the `[L, d]` frame directions into `out` (through `conv`): see the module
/// documentation for the construction.
fn frame_into<T: Send>(
    l: usize,
    d: usize,
    seed: u64,
    base_seed: u64,
    out: &mut [T],
    conv: impl Fn(f64) -> T + Sync,
) {
    assert!(l <= d, "frame_directions: L = {l} > d = {d}");
    assert_eq!(out.len(), l * d);
    let r = frame_base_factor(l, d, base_seed);
    let mut g = FRAME_SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    g.resize(l * d, 0.0);
    // G: L Gaussian columns g_j ∈ R^d, stored as the rows of [L, d]. One pass over blocks of
    // FRAME_COLUMNS coordinates: block k draws its L × width values from its own xoshiro256++
    // stream (reproducible whatever the thread count) and adds its part of the Gram matrix
    // A = GᵀG while the block is in cache.
    let blocks = d.div_ceil(FRAME_COLUMNS);
    let g_ptr = SyncPtr(g.as_mut_ptr());
    let parts: Vec<Vec<f64>> = (0..blocks)
        .into_par_iter()
        .map(|blk| {
            let start = blk * FRAME_COLUMNS;
            let width = FRAME_COLUMNS.min(d - start);
            let mut rng = SmallRng::seed_from_u64(
                seed ^ (blk as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            // SAFETY: block `blk` alone accesses columns start..start + width of every row;
            // `g` outlives the parallel loop and is not otherwise used meanwhile.
            for j in 0..l {
                // SAFETY: row j's columns start..start + width lie inside `g` ([L, d]) and
                // belong to this block alone (see above).
                let row = unsafe {
                    std::slice::from_raw_parts_mut(g_ptr.get().add(j * d + start), width)
                };
                row.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
            }
            let rows: Vec<&[f64]> = (0..l)
                // SAFETY: as above; the block's own writes to these columns are done.
                .map(|j| unsafe {
                    std::slice::from_raw_parts(g_ptr.get().add(j * d + start) as *const f64, width)
                })
                .collect();
            let mut part = vec![0f64; l * l];
            gram_upper(&rows, &mut part);
            part
        })
        .collect();
    // Summed in block order, so the result does not depend on the thread schedule.
    let mut a = vec![0f64; l * l];
    for part in &parts {
        a.iter_mut().zip(part).for_each(|(u, v)| *u += v);
    }
    for i in 0..l {
        for j in 0..i {
            a[i * l + j] = a[j * l + i];
        }
    }
    // A = SᵀS, S upper triangular with positive diagonal (Cholesky), so V = G S⁻¹ is the Q of
    // G's QR with positive diagonal: Haar on the Stiefel manifold.
    let mut s = vec![0f64; l * l];
    for i in 0..l {
        for j in i..l {
            let mut v = a[i * l + j];
            for k in 0..i {
                v -= s[k * l + i] * s[k * l + j];
            }
            if i == j {
                assert!(
                    v > 0.0,
                    "frame_directions: singular Gaussian Gram (L = {l}, d = {d})"
                );
                s[i * l + i] = v.sqrt();
            } else {
                s[i * l + j] = v / s[i * l + i];
            }
        }
    }
    // M = S⁻¹ R (upper triangular): back substitution, column by column; each column scaled
    // by 1/‖G m_c‖ = 1/√(m_cᵀ A m_c) (= 1/‖r_c‖ = 1 up to rounding), so the rows come out unit.
    let mut mat = vec![0f64; l * l];
    for c in 0..l {
        for i in (0..=c).rev() {
            let mut v = r[i * l + c];
            for k in i + 1..=c {
                v -= s[i * l + k] * mat[k * l + c];
            }
            mat[i * l + c] = v / s[i * l + i];
        }
        let mut norm2 = 0.0;
        for i in 0..=c {
            for k in 0..=c {
                norm2 += mat[i * l + c] * a[i * l + k] * mat[k * l + c];
            }
        }
        let inv = 1.0 / norm2.sqrt();
        for i in 0..=c {
            mat[i * l + c] *= inv;
        }
    }
    // θ_c = Σ_{j ≤ c} M[j, c] g_j, by blocks of columns of the output.
    let out_ptr = SyncPtr(out.as_mut_ptr());
    (0..blocks).into_par_iter().for_each(|blk| {
        let start = blk * FRAME_COLUMNS;
        let width = FRAME_COLUMNS.min(d - start);
        let mut tmp = vec![0f64; width];
        for c in 0..l {
            tmp.iter_mut().for_each(|t| *t = 0.0);
            for j in 0..=c {
                axpy(
                    mat[j * l + c],
                    &g[j * d + start..j * d + start + width],
                    &mut tmp,
                );
            }
            // SAFETY: block `blk` writes only columns start..start + width of each row, which
            // no other task writes; `out` outlives the parallel loop.
            let row =
                unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(c * d + start), width) };
            row.iter_mut().zip(&tmp).for_each(|(o, t)| *o = conv(*t));
        }
    });
    if g.len() <= FRAME_SCRATCH_MAX {
        FRAME_SCRATCH.with(|s| *s.borrow_mut() = g);
    }
}

/// A raw pointer that may cross into rayon tasks writing disjoint parts of one buffer.
struct SyncPtr<T>(*mut T);
// SAFETY: the tasks write disjoint elements (see `frame_into`).
unsafe impl<T: Send> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    fn get(&self) -> *mut T {
        self.0
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
