//! The memory plan of one SW evaluation: how many directions are evaluated at once so that
//! forward + backward stay inside a byte budget at any n × L.
//!
//! ```text
//! per direction  c₁ = B · (n + m) · (3·s + 8)      bytes, s = bytes per element (4 or 8)
//!                (the projected rows, the state the 1-D step keeps for the backward — sort
//!                 permutations or indices, coefficients — and their gradient)
//! all at once    F  = L · c₁ + D,   D = L_d · d · s  (the directions: L_d = L shared, B·L per pair)
//! in chunks      K  = D + 2·B·(n + m)·d·s + B·L·(d + 4)·s
//!                (the directions, the gradient fields of the points accumulated over
//!                 chunks, the per-direction values and direction gradients)
//! plan           F ≤ budget            → one chunk of L (the unchunked evaluation)
//!                else chunk = ⌊(budget − K) / c₁⌋ ≥ 1, else SwError::MemoryBudget
//! ```
//! The figures are estimates of what the estimators hold live, not a measurement: the
//! allocator's slack and the caller's own tensors come on top. BENCHMARKS.md has measured peak
//! RSS beside them.

use burn::tensor::DType;

pub use crate::error::human_bytes;
use crate::error::{Result, SwError};

/// The default budget of [`plan`]: 1 GiB for the extra memory of one loss evaluation.
pub const DEFAULT_MEMORY_BUDGET: u64 = 1 << 30;

/// The problem sizes a plan is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Pairs in the batch, B.
    pub batch: usize,
    /// Points of x, n.
    pub n: usize,
    /// Points of y, m.
    pub m: usize,
    /// Dimension d.
    pub d: usize,
    /// Directions per pair, L.
    pub projections: usize,
    /// Whether every pair has its own L directions (`[B, L, d]`) or the batch shares them.
    pub per_pair_directions: bool,
    /// The element type of the points.
    pub dtype: DType,
}

/// How an evaluation is run: all L directions at once, or in chunks of `chunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Directions evaluated together (L when unchunked).
    pub chunk: usize,
    /// L.
    pub projections: usize,
    /// The estimated extra bytes of forward + backward under this plan.
    pub estimated_bytes: u64,
    /// The budget the plan was made for.
    pub budget: u64,
}

impl MemoryPlan {
    /// Whether the directions are evaluated in more than one chunk.
    pub fn is_chunked(&self) -> bool {
        self.chunk < self.projections
    }
}

fn element_bytes(dtype: DType) -> u64 {
    match dtype {
        DType::F64 => 8,
        DType::F16 | DType::BF16 => 2,
        _ => 4,
    }
}

/// Saturating product of sizes (a size that overflows u64 is over any budget anyway).
fn mul(parts: &[u64]) -> u64 {
    parts.iter().fold(1u64, |acc, &v| acc.saturating_mul(v))
}

/// Bytes per direction, c₁ in the module doc.
pub fn bytes_per_direction(sizes: &Sizes) -> u64 {
    let s = element_bytes(sizes.dtype);
    mul(&[sizes.batch as u64, (sizes.n + sizes.m) as u64, 3 * s + 8])
}

/// The directions' own bytes, D in the module doc.
fn direction_bytes(sizes: &Sizes) -> u64 {
    let s = element_bytes(sizes.dtype);
    let rows = if sizes.per_pair_directions {
        mul(&[sizes.batch as u64, sizes.projections as u64])
    } else {
        sizes.projections as u64
    };
    mul(&[rows, sizes.d as u64, s])
}

/// The bytes of the unchunked evaluation, F in the module doc.
pub fn unchunked_bytes(sizes: &Sizes) -> u64 {
    mul(&[sizes.projections.max(1) as u64, bytes_per_direction(sizes)])
        .saturating_add(direction_bytes(sizes))
}

/// The fixed bytes of a chunked evaluation, K in the module doc.
pub fn chunked_fixed_bytes(sizes: &Sizes) -> u64 {
    let s = element_bytes(sizes.dtype);
    let b = sizes.batch as u64;
    direction_bytes(sizes)
        .saturating_add(mul(&[2, b, (sizes.n + sizes.m) as u64, sizes.d as u64, s]))
        .saturating_add(mul(&[b, sizes.projections as u64, sizes.d as u64 + 4, s]))
}

/// Plans one evaluation inside `budget` bytes (see the module doc).
///
/// # Errors
/// [`SwError::MemoryBudget`] when not even one direction at a time fits, naming the budget
/// and what the smallest chunk needs.
///
/// ```
/// use burn::tensor::DType;
/// use sw_loss::memory::{plan, Sizes};
/// let sizes = Sizes { batch: 1, n: 1_000_000, m: 1_000_000, d: 3, projections: 1000,
///                     per_pair_directions: false, dtype: DType::F32 };
/// let p = plan(&sizes, 1 << 30).unwrap();
/// assert!(p.is_chunked() && p.chunk >= 1 && p.estimated_bytes <= 1 << 30);
/// // 2 000 points: all 1000 directions at once.
/// let small = Sizes { n: 1000, m: 1000, ..sizes };
/// assert_eq!(plan(&small, 1 << 30).unwrap().chunk, 1000);
/// ```
pub fn plan(sizes: &Sizes, budget: u64) -> Result<MemoryPlan> {
    let l = sizes.projections.max(1);
    let per_direction = bytes_per_direction(sizes);
    let full = unchunked_bytes(sizes);
    if full <= budget {
        return Ok(MemoryPlan {
            chunk: l,
            projections: l,
            estimated_bytes: full,
            budget,
        });
    }
    let fixed = chunked_fixed_bytes(sizes);
    let room = budget.saturating_sub(fixed);
    let chunk = (room / per_direction.max(1)).min(l as u64) as usize;
    if chunk == 0 {
        return Err(SwError::MemoryBudget {
            budget,
            need: fixed.saturating_add(per_direction),
            detail: format!(
                "B = {}, n = {}, m = {}, d = {}, L = {}: {} for the directions and gradient \
                 fields, {} per direction",
                sizes.batch,
                sizes.n,
                sizes.m,
                sizes.d,
                sizes.projections,
                human_bytes(fixed),
                human_bytes(per_direction)
            ),
        });
    }
    Ok(MemoryPlan {
        chunk,
        projections: l,
        estimated_bytes: fixed.saturating_add(mul(&[chunk as u64, per_direction])),
        budget,
    })
}
