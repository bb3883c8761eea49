//! Scrambled Halton points (random digit permutations per prime base) and the directions
//! they give through Φ⁻¹ and normalisation.

#[allow(unused_imports)]
use super::*;

/// The first `count` primes; the first 10 000 are sieved once per process.
pub(super) fn primes(count: usize) -> Vec<u64> {
    static FIRST: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    const CACHED: usize = 10_000;
    if count <= CACHED {
        return FIRST.get_or_init(|| sieve(CACHED))[..count].to_vec();
    }
    sieve(count)
}

/// The first `count` primes (sieve of Eratosthenes).
pub(super) fn sieve(count: usize) -> Vec<u64> {
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
pub(super) fn to_sphere(u: &mut [f64], d: usize) {
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
