//! The first K generalized eigenpairs of the cotangent Laplacian, `L φ = λ M φ`, with
//! `Φᵀ M Φ = I`, and the pseudo-inverse `Φ⁺ = Φᵀ M` (so `Φ⁺ Φ = I`).
//!
//! ```text
//! A = M^{-1/2} (L + εI) M^{-1/2},  A u = λ u  (dense symmetric),  φ = M^{-1/2} u,  λ ← max(λ, 0)
//! ```
//! Official: `scipy.sparse.linalg.eigsh(L + eps·I, k, M=diag(mass), sigma=eps)` with
//! `eps = 1e-8`, eigenvalues clipped at 0 (EOT-Correspondence `utils/geometry_util.py`,
//! `compute_operators`). Two solvers of the same pencil ([`EigenSolver`]):
//! - dense (nalgebra's symmetric eigensolver, [`dense_eigenpairs`]): every eigenpair, O(V³)
//!   time and O(V²) memory — exact for the tests and the synthetic benchmark;
//! - sparse shift-invert Lanczos (faer, [`super::shift_invert`]): K pairs in O(V·K)
//!   memory, as the official `eigsh` — for FAUST/SCAPE/SMAL-size shapes and beyond.
//!
//! [`generalized_eigenpairs`] uses the sparse solver, which itself falls back to the dense one
//! when the Krylov basis would span most of the space (`4K + 232 ≥ V`). Measured (BENCHMARKS.md,
//! `eigensolver`), K = 200: 2 562 vertices dense 48 s, shift-invert 2.2 s, scipy `eigsh` 2.4 s;
//! 10 242 vertices shift-invert 3.6 s, `eigsh` 21.7 s; λ_K equal to `eigsh`'s within 1e-11.
//! Results are cached on disk ([`super::operators`]). Eigenvector signs are arbitrary, as
//! with `eigsh`.

use super::dense_eigen::{Eigenbasis, dense_eigenpairs};
use super::laplacian::SparseMatrix;
use crate::error::Result;

/// Which eigensolver computes the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EigenSolver {
    /// Sparse shift-invert, dense when K is a large fraction of V.
    #[default]
    Auto,
    /// Dense symmetric eigensolver (all V pairs, then the first K kept).
    Dense,
    /// Sparse shift-invert Lanczos (official `eigsh(sigma=…)`).
    ShiftInvert,
}

/// The first `k` generalized eigenpairs of `(L + εI, diag(mass))` with the solver `Auto`
/// picks ([`EigenSolver`]).
///
/// # Shapes
/// `laplacian` `[V, V]`, `mass` `[V]` → evals `[k]`, evecs `[V, k]`.
pub fn generalized_eigenpairs(
    laplacian: &SparseMatrix,
    mass: &[f64],
    k: usize,
) -> Result<Eigenbasis> {
    eigenpairs_with(laplacian, mass, k, EigenSolver::Auto)
}

/// [`generalized_eigenpairs`] with an explicit solver.
pub fn eigenpairs_with(
    laplacian: &SparseMatrix,
    mass: &[f64],
    k: usize,
    solver: EigenSolver,
) -> Result<Eigenbasis> {
    match solver {
        EigenSolver::Dense => dense_eigenpairs(laplacian, mass, k),
        EigenSolver::Auto | EigenSolver::ShiftInvert => {
            super::shift_invert::shift_invert_eigenpairs(laplacian, mass, k)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::dense_eigen::assert_sphere_spectrum;
    use crate::geometry::laplacian::{cotangent_laplacian, lumped_mass};
    use crate::synthetic_mesh::icosphere;

    #[test]
    fn unit_sphere_eigenvalues_approach_l_l_plus_1_with_multiplicity_2l_plus_1() {
        // icosphere(3): 642 vertices. Spherical harmonics: λ = l(l+1), multiplicity 2l+1.
        let mesh = icosphere(3);
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        let basis = generalized_eigenpairs(&l, &m, 25).unwrap();
        assert!(basis.evals[0].abs() < 1e-6, "λ0 = {}", basis.evals[0]);
        // the discretisation error grows with the frequency: ≤ 1% per degree here
        assert_sphere_spectrum(&basis.evals, 4, 0.01);
        // a coarser mesh is further off: convergence, not coincidence
        let coarse = icosphere(1);
        let cb = generalized_eigenpairs(
            &cotangent_laplacian(&coarse).unwrap(),
            &lumped_mass(&coarse).unwrap(),
            4,
        )
        .unwrap();
        assert!((cb.evals[1] - 2.0).abs() > (basis.evals[1] - 2.0).abs());
    }

    #[test]
    fn eigenvectors_are_mass_orthonormal_and_pseudo_inverse_inverts() {
        let mesh = crate::synthetic_mesh::bumpy_sphere(2, 0.2, 3);
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        let k = 30;
        let b = generalized_eigenpairs(&l, &m, k).unwrap();
        let v = mesh.num_vertices();
        let pinv = b.pseudo_inverse(&m);
        for a in 0..k {
            for c in 0..k {
                let g: f64 = (0..v).map(|i| pinv[a * v + i] * b.evecs[i * k + c]).sum();
                let want = if a == c { 1.0 } else { 0.0 };
                assert!((g - want).abs() < 1e-8, "(ΦᵀMΦ)[{a},{c}] = {g}");
            }
        }
        // L φ = λ M φ for each pair
        for c in 0..k {
            let phi: Vec<f64> = (0..v).map(|i| b.evecs[i * k + c]).collect();
            let lphi = l.mul_vec(&phi);
            for i in 0..v {
                assert!((lphi[i] - b.evals[c] * m[i] * phi[i]).abs() < 1e-7);
            }
        }
        assert!(b.evals.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn bad_k_is_an_error() {
        let mesh = icosphere(0);
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        let err = generalized_eigenpairs(&l, &m, 13).unwrap_err().to_string();
        assert!(err.contains("13 eigenpairs"), "{err}");
    }
}
