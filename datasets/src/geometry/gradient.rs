//! Vertex normals, tangent frames and DiffusionNet's per-vertex gradient operator
//! (EOT-Correspondence `utils/geometry_util.py`: `mesh_vertex_normal`, `build_targent_frames`,
//! `edge_tangent_vectors`, `build_grad`).
//!
//! ```text
//! n_i   = normalize(Σ_{f ∋ i} unit normal_f)
//! x̂_i  = normalize(e − (e·n_i) n_i),  e = (1,0,0) if |n_i·(1,0,0)| < 0.9 else (0,1,0)
//! ŷ_i  = n_i × x̂_i
//! for the outgoing edges i→j (the Laplacian's neighbours):  t_ij = ((p_j−p_i)·x̂_i, (p_j−p_i)·ŷ_i)
//! g_i   = argmin_g Σ_j (t_ij·g − (f_j − f_i))² + 1e-5 ‖g‖²
//!       = (TᵀT + 1e-5 I)⁻¹ Tᵀ (f_N − f_i 1)          (T: rows t_ij)
//! ```
//! The gradient of a vertex function `f` in the frame of vertex i is
//! `(Gx f)_i + i (Gy f)_i`; Gx, Gy are stored row by row as padded neighbour lists.

use super::laplacian::{SparseMatrix, cross, dot, norm, position, sub};
use crate::error::{DataError, Result};
use crate::mesh::Mesh;

/// Official regulariser of the local least squares, `eps_reg = 1e-5` (`build_grad`).
const GRAD_EPS_REG: f64 = 1e-5;

/// The gradient operator as padded rows: row `i` has `width` entries
/// `(indices[i·width + s], x[i·width + s], y[i·width + s])`; padding repeats `i` with weight 0.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientOperator {
    /// Entries per row (maximum degree + 1).
    pub width: usize,
    /// Column indices `[V, width]`.
    pub indices: Vec<u32>,
    /// Weights of the x-component `[V, width]`.
    pub x: Vec<f64>,
    /// Weights of the y-component `[V, width]`.
    pub y: Vec<f64>,
}

impl GradientOperator {
    /// Number of rows V.
    pub fn num_vertices(&self) -> usize {
        self.indices.len() / self.width.max(1)
    }

    /// `(Gx f, Gy f)` for a vertex function `f` `[V]`.
    pub fn apply(&self, f: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let v = self.num_vertices();
        let w = self.width;
        (0..v)
            .map(|i| {
                (0..w).fold((0.0, 0.0), |(gx, gy), s| {
                    let k = i * w + s;
                    let fj = f[self.indices[k] as usize];
                    (gx + self.x[k] * fj, gy + self.y[k] * fj)
                })
            })
            .unzip()
    }
}

/// Unit vertex normals `[V, 3]` (sum of the adjacent unit face normals, normalised).
pub fn vertex_normals(mesh: &Mesh) -> Result<Vec<[f64; 3]>> {
    let mut n = vec![[0.0; 3]; mesh.num_vertices()];
    for t in mesh.faces.chunks_exact(3) {
        let p = [0, 1, 2].map(|c| position(mesh, t[c] as usize));
        let c = cross(sub(p[1], p[0]), sub(p[2], p[0]));
        let l = norm(c) + 1e-12;
        for &i in t {
            for a in 0..3 {
                n[i as usize][a] += c[a] / l;
            }
        }
    }
    for (i, v) in n.iter_mut().enumerate() {
        let l = norm(*v);
        if !(l > 1e-12) {
            return Err(DataError::Invalid(format!(
                "vertex {i} has no normal (unreferenced vertex or cancelling faces)"
            )));
        }
        *v = v.map(|x| x / l);
    }
    Ok(n)
}

/// Tangent frames `(x̂, ŷ, n)` per vertex.
pub fn tangent_frames(normals: &[[f64; 3]]) -> Vec<[[f64; 3]; 3]> {
    normals
        .iter()
        .map(|&n| {
            let e = if dot(n, [1.0, 0.0, 0.0]).abs() < 0.9 {
                [1.0, 0.0, 0.0]
            } else {
                [0.0, 1.0, 0.0]
            };
            let d = dot(e, n);
            let t = [e[0] - d * n[0], e[1] - d * n[1], e[2] - d * n[2]];
            let l = norm(t) + 1e-12;
            let bx = t.map(|x| x / l);
            [bx, cross(n, bx), n]
        })
        .collect()
}

/// The gradient operator over the neighbours of the Laplacian's sparsity pattern.
pub fn gradient_operator(
    mesh: &Mesh,
    laplacian: &SparseMatrix,
    frames: &[[[f64; 3]; 3]],
) -> GradientOperator {
    let v = mesh.num_vertices();
    let neighbours: Vec<Vec<usize>> = (0..v)
        .map(|i| {
            laplacian
                .row(i)
                .map(|(j, _)| j)
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    let width = neighbours.iter().map(|n| n.len()).max().unwrap_or(0) + 1;
    let mut op = GradientOperator {
        width,
        indices: vec![0; v * width],
        x: vec![0.0; v * width],
        y: vec![0.0; v * width],
    };
    for i in 0..v {
        let pi = position(mesh, i);
        let [bx, by, _] = frames[i];
        let t: Vec<[f64; 2]> = neighbours[i]
            .iter()
            .map(|&j| {
                let e = sub(position(mesh, j), pi);
                [dot(e, bx), dot(e, by)]
            })
            .collect();
        // (TᵀT + εI)⁻¹, a 2 × 2 inverse
        let (mut a, mut b, mut d) = (GRAD_EPS_REG, 0.0, GRAD_EPS_REG);
        for r in &t {
            a += r[0] * r[0];
            b += r[0] * r[1];
            d += r[1] * r[1];
        }
        let det = a * d - b * b;
        let inv = [[d / det, -b / det], [-b / det, a / det]];
        let row = i * width;
        op.indices[row] = i as u32;
        for (s, (&j, r)) in neighbours[i].iter().zip(&t).enumerate() {
            // column s of (TᵀT + εI)⁻¹ Tᵀ
            let cx = inv[0][0] * r[0] + inv[0][1] * r[1];
            let cy = inv[1][0] * r[0] + inv[1][1] * r[1];
            op.indices[row + 1 + s] = j as u32;
            op.x[row + 1 + s] = cx;
            op.y[row + 1 + s] = cy;
            op.x[row] -= cx;
            op.y[row] -= cy;
        }
        for s in neighbours[i].len() + 1..width {
            op.indices[row + s] = i as u32;
        }
    }
    op
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::laplacian::cotangent_laplacian;
    use crate::geometry::laplacian::tests::flat_grid;

    #[test]
    fn gradient_of_a_linear_function_on_a_flat_mesh_is_its_tangent_vector() {
        let mesh = flat_grid(8, 0.3);
        let l = cotangent_laplacian(&mesh).unwrap();
        let normals = vertex_normals(&mesh).unwrap();
        let frames = tangent_frames(&normals);
        let g = gradient_operator(&mesh, &l, &frames);
        let a = [0.7, -1.3, 0.0];
        let f: Vec<f64> = (0..mesh.num_vertices())
            .map(|i| dot(position(&mesh, i), a) + 4.0)
            .collect();
        let (gx, gy) = g.apply(&f);
        for i in 0..mesh.num_vertices() {
            let [bx, by, n] = frames[i];
            assert!((n[2].abs() - 1.0).abs() < 1e-12);
            assert!(
                (gx[i] - dot(a, bx)).abs() < 1e-4,
                "vertex {i}: {} vs {}",
                gx[i],
                dot(a, bx)
            );
            assert!((gy[i] - dot(a, by)).abs() < 1e-4);
        }
    }

    #[test]
    fn frames_are_orthonormal_on_a_sphere() {
        let mesh = crate::synthetic_mesh::icosphere(2);
        let normals = vertex_normals(&mesh).unwrap();
        for (i, [x, y, n]) in tangent_frames(&normals).into_iter().enumerate() {
            let p = position(&mesh, i);
            assert!(dot(n, p) > 0.99, "outward normal at {i}");
            for (u, w) in [(x, y), (x, n), (y, n)] {
                assert!(dot(u, w).abs() < 1e-9);
            }
            assert!((norm(x) - 1.0).abs() < 1e-9 && (norm(y) - 1.0).abs() < 1e-9);
        }
    }
}
