//! Projection directions on the unit sphere S^{d-1}.
//!
//! ```text
//! uniform     θ_l = g_l / ‖g_l‖,  g_l ~ N(0, I_d)                 (Unif(S^{d-1}))
//! orthogonal  rows of Gram–Schmidt(G_k), G_k ~ N(0, I)^{d×d}, blocks of d stacked,
//!             the first L rows kept (each row is marginally Unif(S^{d-1}), rows of a
//!             block are exactly orthonormal)
//! rqmc        randomized quasi-Monte Carlo (crate::qmc): the circle lattice under a random
//!             rotation (d = 2), the Fibonacci lattice under a Haar rotation (d = 3), a
//!             scrambled Halton sequence through Φ⁻¹ and normalised (other d < 64, or
//!             L > min(d/2, 64)), a cached scrambled Halton set under a Haar-random frame
//!             (d ≥ 64, L ≤ min(d/2, 64)); each row is marginally Unif(S^{d-1}), the rows are
//!             stratified jointly
//! halton      the scrambled Halton directions of crate::qmc in any d (also d = 2, 3)
//! fibonacci   quasi-uniform lattice on S^2 (a deterministic quadrature rule, d = 3)
//! ```
//!
//! Random draws use the device RNG (`device.seed(..)` makes them reproducible).
//! Von Mises–Fisher directions live in [`crate::vmf`].

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SwError};

/// How random projection directions are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionKind {
    /// i.i.d. uniform on the sphere.
    #[default]
    Uniform,
    /// Random orthonormal blocks of d rows.
    Orthogonal,
    /// Randomized QMC: rotated lattice for d = 2, 3, scrambled Halton for other d < 64, a
    /// random frame over a cached scrambled-Halton set for d ≥ 64, L ≤ min(d/2, 64)
    /// ([`crate::qmc::rqmc_directions`]).
    Rqmc,
    /// Scrambled Halton through the inverse normal CDF, any d
    /// ([`crate::qmc::halton_directions`]).
    Halton,
}

impl DirectionKind {
    /// The name used in configs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            DirectionKind::Uniform => "uniform",
            DirectionKind::Orthogonal => "orthogonal",
            DirectionKind::Rqmc => "rqmc",
            DirectionKind::Halton => "halton",
        }
    }
}

/// Whether the pairs of a batch share one set of directions or draw their own.
///
/// ```text
/// Shared   one [L, d] set for all B pairs (default; the pairs' errors are correlated)
/// PerPair  an independent [L, d] set per pair, [B, L, d] (hsgser/Self-Amortized-DSW
///          loss/sw_variants.py, compute_practical_moments_sw: randn(B, L, d) normalised)
/// ```
/// Both give the same expectation per pair; per-pair sets make the batch mean's Monte Carlo
/// error smaller by averaging B independent sets, at B times the direction memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionSets {
    /// One `[L, d]` set shared by every pair of the batch.
    #[default]
    Shared,
    /// An independent `[L, d]` set per pair: `[B, L, d]`.
    PerPair,
}

impl DirectionSets {
    /// The name used in configs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            DirectionSets::Shared => "shared",
            DirectionSets::PerPair => "per-pair",
        }
    }
}

/// The projection directions handed to an estimator.
///
/// ```text
/// Shared   : [L, d]     the same L directions for every pair of the batch
/// PerPair  : [B, L, d]  L directions per pair (amortized models, Max-SW, v-DSW)
/// ```
/// Rows must have unit norm; the estimators do not renormalise them.
#[derive(Debug, Clone)]
pub enum Directions {
    /// `[L, d]`.
    Shared(Tensor<2>),
    /// `[B, L, d]`.
    PerPair(Tensor<3>),
}

impl Directions {
    /// Number of directions per pair, L.
    pub fn count(&self) -> usize {
        match self {
            Directions::Shared(t) => t.dims()[0],
            Directions::PerPair(t) => t.dims()[1],
        }
    }

    /// Checks the directions against a batch of B measures in R^d.
    pub(crate) fn check(&self, b: usize, d: usize) -> Result<()> {
        let (ok, got, expected) = match self {
            Directions::Shared(t) => (
                t.dims()[1] == d,
                t.dims().to_vec(),
                format!("[L, d] with d = {d}"),
            ),
            Directions::PerPair(t) => (
                t.dims()[0] == b && t.dims()[2] == d,
                t.dims().to_vec(),
                format!("[B, L, d] = [{b}, L, {d}]"),
            ),
        };
        if !ok {
            return Err(SwError::Shape {
                what: "directions",
                expected,
                got,
            });
        }
        if self.count() == 0 {
            return Err(SwError::NoProjections);
        }
        Ok(())
    }

    /// The dtype of the direction tensor.
    pub fn dtype(&self) -> burn::tensor::DType {
        match self {
            Directions::Shared(t) => t.dtype(),
            Directions::PerPair(t) => t.dtype(),
        }
    }

    /// The directions as `[B, L, d]` (a broadcast view for `Shared`).
    pub fn per_pair(&self, b: usize) -> Tensor<3> {
        match self {
            Directions::Shared(t) => {
                let [l, d] = t.dims();
                t.clone().unsqueeze_dim::<3>(0).expand([b, l, d])
            }
            Directions::PerPair(t) => t.clone(),
        }
    }

    /// The same directions with `f` applied to the tensor (e.g. to detach it or move it).
    pub fn map(&self, f: impl Fn(Tensor<3>) -> Tensor<3>) -> Self {
        match self {
            Directions::Shared(t) => {
                let [l, d] = t.dims();
                Directions::Shared(f(t.clone().reshape([1, l, d])).reshape([l, d]))
            }
            Directions::PerPair(t) => Directions::PerPair(f(t.clone())),
        }
    }

    /// Detached copy (no gradient flows to the directions).
    pub fn detach(&self) -> Self {
        match self {
            Directions::Shared(t) => Directions::Shared(t.clone().detach()),
            Directions::PerPair(t) => Directions::PerPair(t.clone().detach()),
        }
    }
}

/// Normalises the rows (last axis) of `t` to unit Euclidean norm.
pub fn normalize_rows<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let norm = t.clone().square().sum_dim(D - 1).sqrt().clamp_min(1e-30);
    t / norm
}

/// L directions i.i.d. uniform on S^{d-1}: `[L, d]`.
pub fn uniform(l: usize, d: usize, device: &Device) -> Tensor<2> {
    normalize_rows(Tensor::<2>::random(
        [l, d],
        Distribution::Normal(0.0, 1.0),
        device,
    ))
}

/// B·L directions i.i.d. uniform on S^{d-1}: `[B, L, d]`.
pub fn uniform_batched(b: usize, l: usize, d: usize, device: &Device) -> Tensor<3> {
    normalize_rows(Tensor::<3>::random(
        [b, l, d],
        Distribution::Normal(0.0, 1.0),
        device,
    ))
}

/// L directions from random orthonormal blocks: `[L, d]`.
///
/// Rows `k·d .. (k+1)·d` are orthonormal (modified Gram–Schmidt of a Gaussian block, in f64
/// on the host; a Gaussian matrix has full rank almost surely). Only the rows that are kept
/// are orthogonalised, so L ≪ d costs O(L² d), not O(d³).
pub fn orthogonal(l: usize, d: usize, device: &Device) -> Tensor<2> {
    orthogonal_as(l, d, device, DType::F32)
}

/// [`orthogonal`] with the rows stored in `dtype` (rounded once from the f64 Gram–Schmidt).
pub fn orthogonal_as(l: usize, d: usize, device: &Device, dtype: DType) -> Tensor<2> {
    let gauss = Tensor::<2>::random([l, d], Distribution::Normal(0.0, 1.0), device);
    let mut rows: Vec<f64> = gauss
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64");
    gram_schmidt_blocks(&mut rows, l, d);
    Tensor::from_data(TensorData::new(rows, [l, d]), (device, dtype))
}

/// Draws `[L, d]` directions of the given kind, in f32.
pub fn sample(kind: DirectionKind, l: usize, d: usize, device: &Device) -> Tensor<2> {
    sample_as(kind, l, d, device, DType::F32)
}

/// Draws `[L, d]` directions of the given kind in `dtype` (the estimators use the dtype of
/// the points). Uniform rows are drawn and normalised in f32 and cast; the others are built
/// in f64 on the host and rounded once.
pub fn sample_as(
    kind: DirectionKind,
    l: usize,
    d: usize,
    device: &Device,
    dtype: DType,
) -> Tensor<2> {
    match kind {
        DirectionKind::Uniform => uniform(l, d, device).cast(dtype),
        DirectionKind::Orthogonal => orthogonal_as(l, d, device, dtype),
        DirectionKind::Rqmc => crate::qmc::rqmc_directions(l, d, device, dtype),
        DirectionKind::Halton => crate::qmc::halton_directions(l, d, device, dtype),
    }
}

/// Draws `[L, d]` directions of the given kind in `dtype` from a host RNG seeded with `seed`:
/// the same seed gives the same directions on every call and every device, and no draw of the
/// device RNG is consumed (so other random draws are not shifted).
pub fn sample_seeded(
    kind: DirectionKind,
    l: usize,
    d: usize,
    seed: u64,
    device: &Device,
    dtype: DType,
) -> Tensor<2> {
    use rand::SeedableRng;
    use rand_distr::{Distribution as _, StandardNormal};
    let gaussian = || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..l * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect::<Vec<f64>>()
    };
    match kind {
        DirectionKind::Uniform => {
            let mut rows = gaussian();
            for row in rows.chunks_mut(d.max(1)) {
                let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
                row.iter_mut().for_each(|v| *v /= norm);
            }
            Tensor::from_data(TensorData::new(rows, [l, d]), (device, dtype))
        }
        DirectionKind::Orthogonal => {
            let mut rows = gaussian();
            gram_schmidt_blocks(&mut rows, l, d);
            Tensor::from_data(TensorData::new(rows, [l, d]), (device, dtype))
        }
        DirectionKind::Rqmc => crate::qmc::rqmc_directions_seeded(l, d, device, dtype, Some(seed)),
        DirectionKind::Halton => {
            crate::qmc::halton_directions_seeded(l, d, device, dtype, Some(seed))
        }
    }
}

/// Directions for a batch of B pairs: one `[L, d]` set ([`DirectionSets::Shared`]) or B
/// independent sets `[B, L, d]` ([`DirectionSets::PerPair`]), of the given kind, in `dtype`.
/// With `seed` the draws come from host RNGs (set b of a per-pair draw from a seed mixed
/// from `seed` and b; the device RNG untouched); without it from the device RNG.
pub fn sample_sets(
    kind: DirectionKind,
    sets: DirectionSets,
    shape: [usize; 3],
    seed: Option<u64>,
    device: &Device,
    dtype: DType,
) -> Directions {
    let [b, l, d] = shape;
    let one = |set: Option<u64>| match set {
        Some(s) => sample_seeded(kind, l, d, s, device, dtype),
        None => sample_as(kind, l, d, device, dtype),
    };
    match (sets, kind, seed) {
        (DirectionSets::Shared, _, _) => Directions::Shared(one(seed)),
        // One [B, L, d] Gaussian draw, as the official randn(B, L, d).
        (DirectionSets::PerPair, DirectionKind::Uniform, None) => {
            Directions::PerPair(uniform_batched(b, l, d, device).cast(dtype))
        }
        (DirectionSets::PerPair, _, _) => Directions::PerPair(Tensor::stack(
            (0..b)
                .map(|i| one(seed.map(|s| pair_seed(s, i))))
                .collect::<Vec<_>>(),
            0,
        )),
    }
}

/// The seed of pair `i`'s set in a seeded per-pair draw (SplitMix64 of `seed + i`): distinct
/// pairs get unrelated streams.
fn pair_seed(seed: u64, i: usize) -> u64 {
    let mut z = seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Modified Gram–Schmidt on each block of d rows of the row-major `[L, d]` matrix, in place.
fn gram_schmidt_blocks(rows: &mut [f64], l: usize, d: usize) {
    for block_start in (0..l).step_by(d.max(1)) {
        let block_end = (block_start + d).min(l);
        for i in block_start..block_end {
            for j in block_start..i {
                let dot: f64 = (0..d).map(|k| rows[i * d + k] * rows[j * d + k]).sum();
                for k in 0..d {
                    rows[i * d + k] -= dot * rows[j * d + k];
                }
            }
            let norm = (0..d).map(|k| rows[i * d + k].powi(2)).sum::<f64>().sqrt();
            for k in 0..d {
                rows[i * d + k] /= norm;
            }
        }
    }
}

/// The Fibonacci (golden-spiral) lattice of n points on S²: `[n, 3]`.
///
/// ```text
/// z_i = 1 − (2i + 1)/n,  r_i = √(1 − z_i²),  φ_i = i · π(3 − √5)
/// θ_i = (r_i cos φ_i, r_i sin φ_i, z_i)
/// ```
/// Each point carries area 4π/n; the mean of a smooth f over the lattice converges to its
/// spherical mean much faster than Monte Carlo. Used as the high-accuracy reference for SW in
/// d = 3.
pub fn fibonacci_sphere(n: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(crate::qmc::fibonacci_points(n), [n, 3]),
        device,
    )
}
