//! Cotangent Laplacian and lumped (barycentric) mass matrix of a triangle mesh.
//!
//! ```text
//! L_ij = −½ (cot α_ij + cot β_ij)   for an edge ij (α, β: the angles opposite the edge)
//! L_ii = −Σ_{j≠i} L_ij               (L is symmetric positive semi-definite, L 1 = 0)
//! M_ii = ⅓ Σ_{f ∋ i} area_f + ε · mean_k(⅓ Σ_{f ∋ k} area_f),   ε = 1e-8
//! ```
//! Official: `pp3d.cotan_laplacian(verts, faces, denom_eps=1e-10)` and
//! `pp3d.vertex_areas(verts, faces)` plus `eps * mean` with `eps = 1e-8`
//! (EOT-Correspondence `utils/geometry_util.py`, `compute_operators`).

use crate::error::{DataError, Result};
use crate::mesh::Mesh;

/// Official `denom_eps` of the cotangent: `cot = (u·v) / max(‖u×v‖, 1e-10)`.
const COT_DENOM_EPS: f64 = 1e-10;
/// Official mass regulariser `massvec += eps * mean(massvec)`, `eps = 1e-8`.
const MASS_EPS: f64 = 1e-8;

/// A square sparse matrix in compressed-row form (sorted column indices, no duplicates).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMatrix {
    /// Number of rows and columns.
    pub n: usize,
    /// Row `i` occupies `indptr[i]..indptr[i + 1]` of `indices` and `values`.
    pub indptr: Vec<usize>,
    /// Column indices.
    pub indices: Vec<usize>,
    /// Entries.
    pub values: Vec<f64>,
}

impl SparseMatrix {
    /// Builds an `n × n` matrix from `(row, col, value)` triplets, summing duplicates.
    pub fn from_triplets(n: usize, mut triplets: Vec<(usize, usize, f64)>) -> Self {
        triplets.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0; n + 1];
        let mut indices = Vec::with_capacity(triplets.len());
        let mut values: Vec<f64> = Vec::with_capacity(triplets.len());
        let mut last: Option<(usize, usize)> = None;
        for (r, c, v) in triplets {
            if last == Some((r, c)) {
                *values.last_mut().expect("a previous entry") += v;
            } else {
                indices.push(c);
                values.push(v);
                indptr[r + 1] += 1;
                last = Some((r, c));
            }
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        Self {
            n,
            indptr,
            indices,
            values,
        }
    }

    /// Row `i` as `(column, value)` pairs.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let r = self.indptr[i]..self.indptr[i + 1];
        self.indices[r.clone()]
            .iter()
            .copied()
            .zip(self.values[r].iter().copied())
    }

    /// `y = A x`.
    pub fn mul_vec(&self, x: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|i| self.row(i).map(|(j, v)| v * x[j]).sum())
            .collect()
    }

    /// Dense row-major copy `[n, n]`.
    pub fn to_dense(&self) -> Vec<f64> {
        let mut d = vec![0.0; self.n * self.n];
        for i in 0..self.n {
            for (j, v) in self.row(i) {
                d[i * self.n + j] = v;
            }
        }
        d
    }
}

pub(crate) fn position(mesh: &Mesh, i: usize) -> [f64; 3] {
    [0, 1, 2].map(|a| mesh.vertices[3 * i + a] as f64)
}

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Rejects meshes whose coordinates are not finite, naming the vertex.
pub(crate) fn check_finite(mesh: &Mesh) -> Result<()> {
    if let Some(k) = mesh.vertices.iter().position(|x| !x.is_finite()) {
        return Err(DataError::Invalid(format!(
            "vertex {} has a non-finite coordinate ({})",
            k / 3,
            mesh.vertices[k]
        )));
    }
    Ok(())
}

/// The cotangent Laplacian `[V, V]` (symmetric positive semi-definite, rows sum to 0).
pub fn cotangent_laplacian(mesh: &Mesh) -> Result<SparseMatrix> {
    check_finite(mesh)?;
    let n = mesh.num_vertices();
    let mut triplets = Vec::with_capacity(12 * mesh.num_faces());
    for t in mesh.faces.chunks_exact(3) {
        for c in 0..3 {
            // the angle at corner c is opposite the edge (i, j)
            let (o, i, j) = (
                t[c] as usize,
                t[(c + 1) % 3] as usize,
                t[(c + 2) % 3] as usize,
            );
            let (u, v) = (
                sub(position(mesh, i), position(mesh, o)),
                sub(position(mesh, j), position(mesh, o)),
            );
            let cot = dot(u, v) / norm(cross(u, v)).max(COT_DENOM_EPS);
            let w = 0.5 * cot;
            triplets.extend([(i, j, -w), (j, i, -w), (i, i, w), (j, j, w)]);
        }
    }
    let l = SparseMatrix::from_triplets(n, triplets);
    if l.values.iter().any(|v| !v.is_finite()) {
        return Err(DataError::Invalid(
            "the cotangent Laplacian has a non-finite entry (degenerate triangle?)".into(),
        ));
    }
    Ok(l)
}

/// The lumped mass `[V]`: a third of the adjacent triangle areas, plus `1e-8 ·` its mean.
pub fn lumped_mass(mesh: &Mesh) -> Result<Vec<f64>> {
    check_finite(mesh)?;
    let mut mass = vec![0.0; mesh.num_vertices()];
    for t in mesh.faces.chunks_exact(3) {
        let p = [0, 1, 2].map(|c| position(mesh, t[c] as usize));
        let area = 0.5 * norm(cross(sub(p[1], p[0]), sub(p[2], p[0])));
        for &i in t {
            mass[i as usize] += area / 3.0;
        }
    }
    let mean = mass.iter().sum::<f64>() / mass.len().max(1) as f64;
    mass.iter_mut().for_each(|m| *m += MASS_EPS * mean);
    if let Some(i) = mass.iter().position(|m| !(*m > 0.0)) {
        return Err(DataError::Invalid(format!(
            "vertex {i} has zero mass (the mesh has no area)"
        )));
    }
    Ok(mass)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A flat n × n grid in the plane z = 0, each square split into two triangles, with a
    /// seeded jitter of the interior vertices so the triangles are not all alike.
    pub(crate) fn flat_grid(n: usize, jitter: f64) -> Mesh {
        let mut v = Vec::new();
        let mut state = 12345u64;
        for i in 0..n {
            for j in 0..n {
                let interior = i > 0 && j > 0 && i + 1 < n && j + 1 < n;
                let mut r = || {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
                };
                let (dx, dy) = if interior {
                    (jitter * r(), jitter * r())
                } else {
                    (0.0, 0.0)
                };
                v.extend([(j as f64 + dx) as f32, (i as f64 + dy) as f32, 0.0]);
            }
        }
        let mut f = Vec::new();
        for i in 0..n - 1 {
            for j in 0..n - 1 {
                let a = (i * n + j) as u32;
                let (b, c, d) = (a + 1, a + n as u32, a + n as u32 + 1);
                f.extend([a, b, d, a, d, c]);
            }
        }
        Mesh::new(v, f).unwrap()
    }

    #[test]
    fn laplacian_of_linear_function_vanishes_at_interior_vertices() {
        let n = 12;
        let mesh = flat_grid(n, 0.4);
        let l = cotangent_laplacian(&mesh).unwrap();
        let f: Vec<f64> = (0..mesh.num_vertices())
            .map(|i| {
                let p = position(&mesh, i);
                0.7 * p[0] - 1.3 * p[1] + 2.0
            })
            .collect();
        let lf = l.mul_vec(&f);
        let mut boundary_max: f64 = 0.0;
        for i in 0..n {
            for j in 0..n {
                let k = i * n + j;
                if i > 0 && j > 0 && i + 1 < n && j + 1 < n {
                    assert!(lf[k].abs() < 1e-5, "(Lf)[{k}] = {}", lf[k]);
                } else {
                    boundary_max = boundary_max.max(lf[k].abs());
                }
            }
        }
        // the boundary does not vanish: the test would pass for L = 0 otherwise
        assert!(boundary_max > 0.1, "boundary {boundary_max}");
    }

    #[test]
    fn laplacian_is_symmetric_with_zero_row_sums_and_mass_sums_to_area() {
        let mesh = crate::synthetic_mesh::icosphere(2);
        let l = cotangent_laplacian(&mesh).unwrap();
        let d = l.to_dense();
        let n = l.n;
        for i in 0..n {
            assert!(l.row(i).map(|(_, v)| v).sum::<f64>().abs() < 1e-10);
            for j in 0..n {
                assert!((d[i * n + j] - d[j * n + i]).abs() < 1e-12);
            }
        }
        let mass = lumped_mass(&mesh).unwrap();
        let total: f64 = mass.iter().sum();
        assert!(
            (total - mesh.area()).abs() < 1e-5 * total,
            "{total} vs {}",
            mesh.area()
        );
    }

    #[test]
    fn non_finite_vertex_is_named() {
        let mut mesh = crate::synthetic_mesh::icosphere(0);
        mesh.vertices[3 * 5 + 1] = f32::NAN;
        let err = cotangent_laplacian(&mesh).unwrap_err().to_string();
        assert!(err.contains("vertex 5"), "{err}");
    }
}
