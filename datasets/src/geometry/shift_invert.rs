//! Sparse shift-invert eigensolver for the first K generalized eigenpairs of large meshes.
//!
//! ```text
//! A = L + εI  (V × V sparse, ε = 1e-8),  M = diag(mass),  A φ = μ M φ
//! B = M^{1/2} (A − σM)^{-1} M^{1/2}     (symmetric, positive definite for σ < 0)
//! B u = θ u   ⇔   A φ = μ M φ  with  φ = M^{-1/2} u,  μ = σ + 1/θ
//! ```
//! The K largest θ of `B` are the K smallest μ. `A − σM` is factored once by faer's sparse
//! Cholesky (AMD fill-reducing ordering); each application of `B` is a pair of triangular
//! solves. The K dominant pairs of `B` come from a block Lanczos process with full
//! re-orthogonalisation (block size [`BLOCK`], so an eigenvalue of multiplicity up to
//! [`BLOCK`] — a sphere's `2l + 1` — is found whole, which a single-vector Krylov method
//! only finds through rounding) and Rayleigh–Ritz on the growing basis until every wanted
//! Ritz residual `‖B u − θ u‖` is below `RELATIVE_TOLERANCE` · θ_max. Each eigenvalue is
//! then the Rayleigh quotient `φᵀAφ / φᵀMφ` and each φ is M-normalised.
//!
//! Official: `scipy.sparse.linalg.eigsh(L + eps·I, k, M=diag(mass), sigma=eps)` (ARPACK's
//! shift-invert mode; EOT-Correspondence `utils/geometry_util.py`, `compute_operators`).
//! The shift differs on purpose: ARPACK factors `A − εM` with an LU, which is indefinite
//! when the mesh's vertex areas exceed 1; Cholesky needs `A − σM` positive definite, so
//! here σ = −1/area(mesh) (scale-free: the first non-zero eigenvalue of a unit-area
//! surface is O(1)). The eigenpairs are those of the same pencil `(A, M)`; only the
//! spectral transformation differs.
//!
//! Hand-written (faer ships sparse Cholesky, not a block eigensolver; its single-vector
//! Krylov–Schur `partial_self_adjoint_eigen` did not converge on a sphere's multiple
//! eigenvalues). Cost: one sparse factorisation, and a basis of at most `4K + 200`
//! vectors: O(V·K) memory, O(V·K²) time — a 5k-vertex shape with K = 200 takes seconds
//! where the dense solver takes minutes and 200 MB.

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::SolveCore;
use faer::sparse::linalg::solvers::Llt;
use faer::sparse::{SparseColMat, Triplet};
use faer::{Accum, Conj, MatMut, MatRef, Par, Side};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};

use super::dense_eigen::{EIG_EPS, Eigenbasis, check_problem, dense_eigenpairs};
use super::laplacian::SparseMatrix;
use crate::error::{DataError, Result};

/// Block size of the Lanczos process: multiplicities up to this are resolved exactly.
pub const BLOCK: usize = 16;
/// Ritz residual tolerance, relative to the largest θ.
const RELATIVE_TOLERANCE: f64 = 1e-10;
/// A block column whose norm falls below this fraction (of its norm before
/// orthogonalisation) is a deflated direction, replaced by a fresh random one.
const DEFLATION: f64 = 1e-10;
/// Seed of the random start block (eigenvectors are reproducible run to run).
const START_SEED: u64 = 0x5eed_e16e;

/// `X ↦ M^{1/2} (A − σM)^{-1} M^{1/2} X` for a block `X` `[V, b]`.
struct ShiftInvert {
    factor: Llt<usize, f64>,
    sqrt_mass: Vec<f64>,
}

impl ShiftInvert {
    /// Factors `L + εI − σM`.
    fn new(laplacian: &SparseMatrix, mass: &[f64], sigma: f64) -> Result<Self> {
        let v = laplacian.n;
        let mut triplets = Vec::with_capacity(laplacian.values.len() / 2 + v);
        for i in 0..v {
            for (j, l) in laplacian.row(i) {
                if j < i {
                    triplets.push(Triplet::new(i, j, l));
                } else if j == i {
                    triplets.push(Triplet::new(i, i, l + EIG_EPS - sigma * mass[i]));
                }
            }
        }
        let shifted = SparseColMat::<usize, f64>::try_new_from_triplets(v, v, &triplets)
            .map_err(|e| DataError::Invalid(format!("sparse Laplacian ({v} × {v}): {e:?}")))?;
        let factor = shifted.sp_cholesky(Side::Lower).map_err(|e| {
            DataError::Invalid(format!(
                "the shifted Laplacian L + εI + {:.3e}·M of a {v}-vertex mesh is not positive \
                 definite ({e:?}); is the mesh degenerate?",
                -sigma
            ))
        })?;
        Ok(Self {
            factor,
            sqrt_mass: mass.iter().map(|m| m.sqrt()).collect(),
        })
    }

    /// `out = B x`, both column-major `[V, b]`.
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let v = self.sqrt_mass.len();
        let b = x.len() / v;
        for c in 0..b {
            for (i, s) in self.sqrt_mass.iter().enumerate() {
                out[c * v + i] = s * x[c * v + i];
            }
        }
        self.factor
            .solve_in_place_with_conj(Conj::No, MatMut::from_column_major_slice_mut(out, v, b));
        for c in 0..b {
            for (i, s) in self.sqrt_mass.iter().enumerate() {
                out[c * v + i] *= s;
            }
        }
    }
}

/// The first `k` generalized eigenpairs of `(L + εI, diag(mass))` by sparse shift-invert
/// block Lanczos; the same pencil as [`dense_eigenpairs`] (which it falls back to when
/// the Krylov basis would span most of the space, `4k + 200 + 2·BLOCK ≥ V`).
///
/// # Shapes
/// `laplacian` `[V, V]`, `mass` `[V]` → evals `[k]` (ascending, ≥ 0), evecs `[V, k]`.
///
/// # Errors
/// `k` outside `1..=V`, a mass that is not positive and finite (naming the vertex), a
/// factorisation failure, or no convergence within the basis limit.
pub fn shift_invert_eigenpairs(
    laplacian: &SparseMatrix,
    mass: &[f64],
    k: usize,
) -> Result<Eigenbasis> {
    let v = laplacian.n;
    check_problem(v, mass, k)?;
    let max_dim = 4 * k + 200;
    if max_dim + 2 * BLOCK >= v {
        return dense_eigenpairs(laplacian, mass, k);
    }
    let area: f64 = mass.iter().sum();
    let op = ShiftInvert::new(laplacian, mass, -1.0 / area)?;
    let u = block_lanczos(&op, v, k, max_dim)?;

    // φ = M^{-1/2} u, M-normalised; μ = Rayleigh quotient of A = L + εI
    let mut pairs: Vec<(f64, Vec<f64>)> = (0..k)
        .map(|c| {
            let mut phi: Vec<f64> = (0..v).map(|i| u[c * v + i] / op.sqrt_mass[i]).collect();
            let norm: f64 = phi
                .iter()
                .zip(mass)
                .map(|(p, m)| p * p * m)
                .sum::<f64>()
                .sqrt();
            phi.iter_mut().for_each(|p| *p /= norm);
            let lphi = laplacian.mul_vec(&phi);
            let mu: f64 = phi
                .iter()
                .zip(&lphi)
                .map(|(p, l)| p * (l + EIG_EPS * p))
                .sum();
            (mu, phi)
        })
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let evals = pairs.iter().map(|p| p.0).collect();
    Eigenbasis::from_columns(v, evals, |c, i| pairs[c].1[i])
}

/// The orthonormal basis `Q` `[V, m]` (column-major) and the projected matrix `H = QᵀBQ`.
struct Krylov {
    v: usize,
    q: Vec<f64>,
    /// `H` `[cap, cap]` column-major; column j holds the coefficients of `B q_j`.
    h: Vec<f64>,
    cap: usize,
    m: usize,
    rng: rand::rngs::StdRng,
}

impl Krylov {
    fn q(&self, cols: std::ops::Range<usize>) -> MatRef<'_, f64> {
        let n = cols.len();
        MatRef::from_column_major_slice(&self.q[cols.start * self.v..cols.end * self.v], self.v, n)
    }

    /// Orthogonalises the block `w` `[V, b]` against `Q` (two classical Gram–Schmidt
    /// passes), adds the coefficients to `H[0..m, cols]`, orthonormalises it internally,
    /// writes the triangular factor to `H[m..m+b, cols]` (when `cols` is given) and appends
    /// it to `Q`. Deflated columns are replaced by random orthogonal ones.
    fn append(&mut self, mut w: Vec<f64>, cols: Option<std::ops::Range<usize>>) {
        let (v, m) = (self.v, self.m);
        let b = w.len() / v;
        for _pass in 0..2 {
            if m == 0 {
                break;
            }
            let mut c = vec![0.0; m * b];
            matmul(
                MatMut::from_column_major_slice_mut(&mut c, m, b),
                Accum::Replace,
                self.q(0..m).transpose(),
                MatRef::from_column_major_slice(&w, v, b),
                1.0,
                Par::Seq,
            );
            matmul(
                MatMut::from_column_major_slice_mut(&mut w, v, b),
                Accum::Add,
                self.q(0..m),
                MatRef::from_column_major_slice(&c, m, b),
                -1.0,
                Par::Seq,
            );
            if let Some(cols) = &cols {
                for (jj, j) in cols.clone().enumerate() {
                    for i in 0..m {
                        self.h[j * self.cap + i] += c[jj * m + i];
                    }
                }
            }
        }
        // modified Gram–Schmidt (twice) inside the block
        for c in 0..b {
            let before = norm(&w[c * v..(c + 1) * v]);
            for _ in 0..2 {
                for p in 0..c {
                    let (done, rest) = w.split_at_mut(c * v);
                    let (qp, wc) = (&done[p * v..(p + 1) * v], &mut rest[..v]);
                    let r = dot(qp, wc);
                    axpy(-r, qp, wc);
                    if let Some(cols) = &cols {
                        self.h[(cols.start + c) * self.cap + m + p] += r;
                    }
                }
            }
            let after = norm(&w[c * v..(c + 1) * v]);
            let wc = &mut w[c * v..(c + 1) * v];
            if after > DEFLATION * before && after > 0.0 {
                wc.iter_mut().for_each(|x| *x /= after);
                if let Some(cols) = &cols {
                    self.h[(cols.start + c) * self.cap + m + c] = after;
                }
            } else {
                // an invariant direction: continue with a random vector orthogonal to all
                let mut fresh: Vec<f64> =
                    (0..v).map(|_| self.rng.random_range(-1.0..1.0)).collect();
                for _ in 0..2 {
                    for j in 0..m {
                        let qj = &self.q[j * v..(j + 1) * v];
                        let r = dot(qj, &fresh);
                        axpy(-r, qj, &mut fresh);
                    }
                    for p in 0..c {
                        let qp = &w[p * v..(p + 1) * v];
                        let r = dot(qp, &fresh);
                        axpy(-r, qp, &mut fresh);
                    }
                }
                let nf = norm(&fresh);
                fresh.iter_mut().for_each(|x| *x /= nf);
                w[c * v..(c + 1) * v].copy_from_slice(&fresh);
            }
        }
        self.q.extend_from_slice(&w);
        self.m += b;
    }
}

/// The `k` dominant eigenvectors `[V, k]` (column-major) of the operator.
fn block_lanczos(op: &ShiftInvert, v: usize, k: usize, max_dim: usize) -> Result<Vec<f64>> {
    let b = BLOCK;
    let cap = max_dim + 2 * b;
    let mut kr = Krylov {
        v,
        q: Vec::with_capacity(v * cap),
        h: vec![0.0; cap * cap],
        cap,
        m: 0,
        rng: rand::rngs::StdRng::seed_from_u64(START_SEED),
    };
    let start: Vec<f64> = (0..v * b).map(|_| kr.rng.random_range(-1.0..1.0)).collect();
    kr.append(start, None);
    let mut next_check = k + 2 * b;
    let mut done = 0; // columns of Q whose image B q has been expanded
    let mut w = vec![0.0; v * b];
    loop {
        op.apply(&kr.q[done * v..(done + b) * v], &mut w);
        kr.append(w.clone(), Some(done..done + b));
        done += b;
        if done < next_check && done < max_dim {
            continue;
        }
        // Rayleigh–Ritz on span(q_0 .. q_done): H_s = Q_sᵀ B Q_s (symmetrised)
        let s = done;
        let hs = DMatrix::from_fn(s, s, |i, j| 0.5 * (kr.h[j * cap + i] + kr.h[i * cap + j]));
        let eig = hs.symmetric_eigen();
        let mut order: Vec<usize> = (0..s).collect();
        order.sort_by(|&x, &y| eig.eigenvalues[y].total_cmp(&eig.eigenvalues[x]));
        let theta_max = eig.eigenvalues[order[0]];
        // residual of Ritz pair y: ‖R y_last‖, R = H[s..s+b, s−b..s] the coupling to the next block
        let residual = |col: usize| -> f64 {
            (0..b)
                .map(|r| {
                    (0..b)
                        .map(|c| {
                            kr.h[(s - b + c) * cap + s + r] * eig.eigenvectors[(s - b + c, col)]
                        })
                        .sum::<f64>()
                        .powi(2)
                })
                .sum::<f64>()
                .sqrt()
        };
        let converged = order[..k]
            .iter()
            .all(|&o| residual(o) <= RELATIVE_TOLERANCE * theta_max);
        if converged {
            let mut y = vec![0.0; s * k];
            for (c, &o) in order[..k].iter().enumerate() {
                for i in 0..s {
                    y[c * s + i] = eig.eigenvectors[(i, o)];
                }
            }
            let mut u = vec![0.0; v * k];
            matmul(
                MatMut::from_column_major_slice_mut(&mut u, v, k),
                Accum::Replace,
                kr.q(0..s),
                MatRef::from_column_major_slice(&y, s, k),
                1.0,
                Par::Seq,
            );
            return Ok(u);
        }
        if done >= max_dim {
            let worst = order[..k].iter().map(|&o| residual(o)).fold(0.0, f64::max);
            return Err(DataError::Invalid(format!(
                "shift-invert Lanczos: {k} eigenpairs of a {v}-vertex mesh not converged in a \
                 {s}-vector basis (worst Ritz residual {:.2e} of θ_max {theta_max:.3e})",
                worst
            )));
        }
        next_check = (done + done / 4).max(done + b).min(max_dim);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += alpha * x);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::dense_eigen::dense_eigenpairs;
    use crate::geometry::laplacian::{cotangent_laplacian, lumped_mass};
    use crate::synthetic_mesh::{bumpy_sphere, icosphere};

    /// `‖P_a − P_b‖_max` for the M-orthogonal projectors onto the spans of columns `cols`.
    fn projector_gap(
        a: &Eigenbasis,
        b: &Eigenbasis,
        mass: &[f64],
        cols: std::ops::Range<usize>,
    ) -> f64 {
        let (v, ka, kb) = (a.num_vertices, a.k(), b.k());
        let proj = |e: &Eigenbasis, k: usize, i: usize, j: usize| -> f64 {
            cols.clone()
                .map(|c| e.evecs[i * k + c] * e.evecs[j * k + c])
                .sum::<f64>()
                * mass[j].sqrt()
                * mass[i].sqrt()
        };
        let mut worst: f64 = 0.0;
        for i in (0..v).step_by(7) {
            for j in (0..v).step_by(5) {
                worst = worst.max((proj(a, ka, i, j) - proj(b, kb, i, j)).abs());
            }
        }
        worst
    }

    #[test]
    fn matches_the_dense_solver_eigenvalues_and_eigenspaces() {
        // a bumpy sphere: no exact degeneracy, so each eigenvector is defined up to sign
        let mesh = bumpy_sphere(3, 0.2, 7);
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        let k = 40;
        let dense = dense_eigenpairs(&l, &m, k).unwrap();
        let sparse = shift_invert_eigenpairs(&l, &m, k).unwrap();
        for c in 0..k {
            let (a, b) = (dense.evals[c], sparse.evals[c]);
            assert!(
                (a - b).abs() <= 1e-8 * a.max(1.0),
                "λ{c}: dense {a} vs shift-invert {b}"
            );
        }
        // eigenvector c spans the same line: |⟨φ_dense, φ_sparse⟩_M| = 1
        let v = mesh.num_vertices();
        for c in 1..k {
            let lo = dense.evals[c] - dense.evals[c - 1];
            let hi = if c + 1 < k {
                dense.evals[c + 1] - dense.evals[c]
            } else {
                f64::INFINITY
            };
            if lo.min(hi) < 1e-3 * dense.evals[c] {
                continue; // a near-multiple pair: compared as a subspace below
            }
            let dot: f64 = (0..v)
                .map(|i| dense.evecs[i * k + c] * sparse.evecs[i * k + c] * m[i])
                .sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-7,
                "φ{c}: |⟨dense, sparse⟩_M| = {}",
                dot.abs()
            );
        }
        assert!(projector_gap(&dense, &sparse, &m, 0..k) < 1e-7);
    }

    #[test]
    fn unit_sphere_multiplicities_are_all_found() {
        // icosphere(4): 2562 vertices, above the dense threshold. λ = l(l+1) with
        // multiplicity 2l+1 — Lanczos from one start vector must not drop a copy.
        let mesh = icosphere(4);
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        let b = shift_invert_eigenpairs(&l, &m, 36).unwrap();
        // constant φ: μ0 = ε·V / area exactly (A = L + εI, L 1 = 0)
        let area: f64 = m.iter().sum();
        let mu0 = 1e-8 * mesh.num_vertices() as f64 / area;
        assert!(
            (b.evals[0] - mu0).abs() < 1e-6 * mu0,
            "λ0 = {} vs εV/area = {mu0}",
            b.evals[0]
        );
        crate::geometry::dense_eigen::assert_sphere_spectrum(&b.evals, 5, 0.005);
        // Φᵀ M Φ = I and L φ = λ M φ
        let (v, k) = (mesh.num_vertices(), b.k());
        for a in 0..k {
            for c in a..k {
                let g: f64 = (0..v)
                    .map(|i| b.evecs[i * k + a] * b.evecs[i * k + c] * m[i])
                    .sum();
                assert!(
                    (g - if a == c { 1.0 } else { 0.0 }).abs() < 1e-8,
                    "(ΦᵀMΦ)[{a},{c}] = {g}"
                );
            }
            let phi: Vec<f64> = (0..v).map(|i| b.evecs[i * k + a]).collect();
            let r = l.mul_vec(&phi);
            let res = (0..v)
                .map(|i| (r[i] - b.evals[a] * m[i] * phi[i]).abs())
                .fold(0.0, f64::max);
            assert!(res < 1e-7, "‖Lφ − λMφ‖∞ = {res} for pair {a}"); // as the dense solver's test
        }
    }

    #[test]
    fn scaling_the_mesh_scales_the_eigenvalues_by_the_inverse_square() {
        // λ(s·X) = λ(X)/s²: the shift σ = −1/area follows the scale, the answer must not move
        let mesh = bumpy_sphere(3, 0.2, 3); // 642 vertices: the Lanczos path, not the dense fallback
        let mut big = mesh.clone();
        big.vertices.iter_mut().for_each(|x| *x *= 10.0);
        let solve = |m: &crate::mesh::Mesh| {
            shift_invert_eigenpairs(
                &cotangent_laplacian(m).unwrap(),
                &lumped_mass(m).unwrap(),
                12,
            )
            .unwrap()
        };
        let (a, b) = (solve(&mesh), solve(&big));
        for c in 1..12 {
            assert!(
                (a.evals[c] - 100.0 * b.evals[c]).abs() < 1e-6 * a.evals[c],
                "λ{c}"
            );
        }
    }

    #[test]
    fn bad_mass_is_an_error_naming_the_vertex() {
        let mesh = icosphere(1);
        let l = cotangent_laplacian(&mesh).unwrap();
        let mut m = lumped_mass(&mesh).unwrap();
        m[5] = f64::NAN;
        let err = shift_invert_eigenpairs(&l, &m, 4).unwrap_err().to_string();
        assert!(err.contains("vertex 5"), "{err}");
    }
}
