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

use nalgebra::DMatrix;

use super::laplacian::SparseMatrix;
use crate::error::{DataError, Result};

/// Official shift `L + eps·I` before the eigensolve, `eps = 1e-8`.
pub(crate) const EIG_EPS: f64 = 1e-8;

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

/// K eigenpairs of a mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigenbasis {
    /// Eigenvalues `[K]`, ascending, ≥ 0.
    pub evals: Vec<f64>,
    /// Eigenvectors `[V, K]` row-major, M-orthonormal.
    pub evecs: Vec<f64>,
    /// Number of vertices V.
    pub num_vertices: usize,
}

impl Eigenbasis {
    /// Number of eigenpairs K.
    pub fn k(&self) -> usize {
        self.evals.len()
    }

    /// Assembles a basis from ascending eigenvalues `[K]` and the eigenvector entries
    /// `column(c, i)` = φ_c at vertex i (`V` vertices): each eigenvalue must be finite and is
    /// clipped at 0, as the official `compute_operators` does.
    pub(crate) fn from_columns(
        num_vertices: usize,
        evals: Vec<f64>,
        column: impl Fn(usize, usize) -> f64,
    ) -> Result<Self> {
        let k = evals.len();
        if let Some(c) = evals.iter().position(|l| !l.is_finite()) {
            return Err(DataError::Invalid(format!("eigenvalue {c} is not finite")));
        }
        let mut evecs = vec![0.0; num_vertices * k];
        for i in 0..num_vertices {
            for c in 0..k {
                evecs[i * k + c] = column(c, i);
            }
        }
        Ok(Eigenbasis {
            evals: evals.into_iter().map(|l| l.max(0.0)).collect(),
            evecs,
            num_vertices,
        })
    }

    /// The pseudo-inverse `Φᵀ M` `[K, V]` row-major (official `evecs.T * mass[None]`).
    pub fn pseudo_inverse(&self, mass: &[f64]) -> Vec<f64> {
        let (v, k) = (self.num_vertices, self.k());
        let mut out = vec![0.0; k * v];
        for i in 0..v {
            for j in 0..k {
                out[j * v + i] = self.evecs[i * k + j] * mass[i];
            }
        }
        out
    }

    /// The first `k ≤ K` eigenpairs.
    pub fn truncate(&self, k: usize) -> Eigenbasis {
        let full = self.k();
        let k = k.min(full);
        Eigenbasis {
            evals: self.evals[..k].to_vec(),
            evecs: (0..self.num_vertices)
                .flat_map(|i| self.evecs[i * full..i * full + k].iter().copied())
                .collect(),
            num_vertices: self.num_vertices,
        }
    }
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

/// `1 ≤ k ≤ V`, one positive finite mass per vertex.
pub(crate) fn check_problem(v: usize, mass: &[f64], k: usize) -> Result<()> {
    if mass.len() != v {
        return Err(DataError::Invalid(format!(
            "mass has {} entries but the Laplacian is {v} × {v}",
            mass.len()
        )));
    }
    if k == 0 || k > v {
        return Err(DataError::Invalid(format!(
            "asked for {k} eigenpairs of a {v}-vertex mesh (need 1 ≤ K ≤ V)"
        )));
    }
    if let Some(i) = mass.iter().position(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(DataError::Invalid(format!(
            "vertex {i} has mass {} (need a positive, finite vertex area)",
            mass[i]
        )));
    }
    Ok(())
}

/// Every eigenpair of `(L + εI, diag(mass))` by a dense symmetric eigensolve; the first `k`
/// are returned.
///
/// # Shapes
/// `laplacian` `[V, V]`, `mass` `[V]` → evals `[k]`, evecs `[V, k]`.
pub fn dense_eigenpairs(laplacian: &SparseMatrix, mass: &[f64], k: usize) -> Result<Eigenbasis> {
    let v = laplacian.n;
    check_problem(v, mass, k)?;
    let inv_sqrt: Vec<f64> = mass.iter().map(|m| 1.0 / m.sqrt()).collect();
    let mut a = DMatrix::<f64>::zeros(v, v);
    for i in 0..v {
        for (j, l) in laplacian.row(i) {
            a[(i, j)] = l * inv_sqrt[i] * inv_sqrt[j];
        }
        a[(i, i)] += EIG_EPS * inv_sqrt[i] * inv_sqrt[i];
    }
    let eig = a.symmetric_eigen();
    let mut order: Vec<usize> = (0..v).collect();
    order.sort_by(|&x, &y| eig.eigenvalues[x].total_cmp(&eig.eigenvalues[y]));
    order.truncate(k);
    let evals: Vec<f64> = order.iter().map(|&o| eig.eigenvalues[o]).collect();
    Eigenbasis::from_columns(v, evals, |c, i| {
        eig.eigenvectors[(i, order[c])] * inv_sqrt[i]
    })
}

/// Asserts the unit sphere's spectrum: after λ0, the eigenvalues come in groups of `2l + 1`
/// equal to `l(l + 1)` within `tol_per_degree · l` (relative), for `l = 1..=max_degree`.
#[cfg(test)]
pub(crate) fn assert_sphere_spectrum(evals: &[f64], max_degree: usize, tol_per_degree: f64) {
    let mut start = 1;
    for degree in 1..=max_degree {
        let exact = (degree * (degree + 1)) as f64;
        for idx in start..start + 2 * degree + 1 {
            let rel = (evals[idx] - exact).abs() / exact;
            assert!(
                rel < tol_per_degree * degree as f64,
                "λ{idx} = {} vs l(l+1) = {exact}",
                evals[idx]
            );
        }
        start += 2 * degree + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
