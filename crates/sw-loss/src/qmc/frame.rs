//! Directions for d ≥ 64 and L ≤ 64: a cached scrambled-Halton base set under a Haar-random
//! frame, with its Gram and axpy loops (AVX2 where the CPU has it).

#[allow(unused_imports)]
use super::*;

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
pub(super) const FRAME_CACHE_MAX: usize = 64;

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
pub(super) fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// ⟨a, b⟩ in f64 with 16 independent partial sums (vectorises and pipelines).
#[inline(always)]
pub(super) fn dot_with<const FMA: bool>(a: &[f64], b: &[f64]) -> f64 {
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
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    dot_with::<false>(a, b)
}

/// `part[i·L + j] = ⟨rows_i, rows_j⟩` for i ≤ j.
#[inline(always)]
pub(super) fn gram_upper_body<const FMA: bool>(rows: &[&[f64]], part: &mut [f64]) {
    let l = rows.len();
    for i in 0..l {
        for j in i..l {
            part[i * l + j] = dot_with::<FMA>(rows[i], rows[j]);
        }
    }
}

/// y += α x.
#[inline(always)]
pub(super) fn axpy_body<const FMA: bool>(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut()
        .zip(x)
        .for_each(|(t, v)| *t = madd::<FMA>(alpha, *v, *t));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gram_upper_avx2(rows: &[&[f64]], part: &mut [f64]) {
    gram_upper_body::<true>(rows, part)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn axpy_avx2(alpha: f64, x: &[f64], y: &mut [f64]) {
    axpy_body::<true>(alpha, x, y)
}

#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// [`gram_upper_body`], compiled for AVX2 where the CPU has it (Burn builds for baseline
/// x86-64).
pub(super) fn gram_upper(rows: &[&[f64]], part: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports the features the function was compiled for.
        return unsafe { gram_upper_avx2(rows, part) };
    }
    gram_upper_body::<false>(rows, part)
}

/// [`axpy_body`], compiled for AVX2 where the CPU has it.
pub(super) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
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
pub(super) fn frame_base_factor(l: usize, d: usize, seed: u64) -> Arc<Vec<f64>> {
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

pub(super) fn frame_directions_seeded(
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
pub(super) const FRAME_COLUMNS: usize = 512;

/// The Gaussian matrix of [`frame_into`] lives in a per-thread buffer that is reused (no page
/// faults on fresh memory every draw) up to this many elements.
pub(super) const FRAME_SCRATCH_MAX: usize = 1 << 23;

thread_local! {
    static FRAME_SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes the `[L, d]` frame directions into `out` (through `conv`): see the module
/// documentation for the construction.
pub(super) fn frame_into<T: Send>(
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
pub(super) struct SyncPtr<T>(*mut T);
// SAFETY: the tasks write disjoint elements (see `frame_into`).
unsafe impl<T: Send> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}
