//! The eigenbasis type, the checks of a generalized eigenproblem `(L + εI) φ = λ M φ`, and its
//! dense solver: what both solvers share ([`super::eigen`] picks one, [`super::shift_invert`]
//! falls back to the dense one), kept below both so neither imports the other's file.
//!
//! ```text
//! A = M^{-1/2} (L + εI) M^{-1/2},  A u = λ u  (dense symmetric),  φ = M^{-1/2} u,  λ ← max(λ, 0)
//! ```

use nalgebra::DMatrix;

use super::laplacian::SparseMatrix;
use crate::error::{DataError, Result};

/// Official shift `L + eps·I` before the eigensolve, `eps = 1e-8`.
pub(crate) const EIG_EPS: f64 = 1e-8;

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
