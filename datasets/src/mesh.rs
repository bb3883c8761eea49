//! Triangle meshes as plain data: vertices `[V, 3]` f32 and triangles `[F, 3]` u32, with
//! per-face normals and areas.
//!
//! ```text
//! n_f = (v₁ − v₀) × (v₂ − v₀),   area_f = ‖n_f‖ / 2,   normal_f = n_f / ‖n_f‖
//! ```

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{DataError, Result};

/// A triangle mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// Row-major `[V, 3]` positions.
    pub vertices: Vec<f32>,
    /// Row-major `[F, 3]` vertex indices, counter-clockwise seen from outside.
    pub faces: Vec<u32>,
}

impl Mesh {
    /// Builds a mesh, checking that every index refers to a vertex (the readers also check
    /// that every coordinate is finite, naming the file and the vertex).
    pub fn new(vertices: Vec<f32>, faces: Vec<u32>) -> Result<Self> {
        if !vertices.len().is_multiple_of(3) || !faces.len().is_multiple_of(3) {
            return Err(DataError::Invalid(format!(
                "a mesh needs 3 coordinates per vertex and 3 indices per face, got {} and {} values",
                vertices.len(),
                faces.len()
            )));
        }
        let v = vertices.len() / 3;
        if let Some((k, &i)) = faces.iter().enumerate().find(|(_, i)| **i as usize >= v) {
            return Err(DataError::Invalid(format!(
                "face {} references vertex {i}, but the mesh has {v} vertices",
                k / 3
            )));
        }
        Ok(Self { vertices, faces })
    }

    /// Number of vertices V.
    pub fn num_vertices(&self) -> usize {
        self.vertices.len() / 3
    }

    /// Number of triangles F.
    pub fn num_faces(&self) -> usize {
        self.faces.len() / 3
    }

    fn vertex(&self, i: u32) -> [f64; 3] {
        let i = i as usize * 3;
        [
            self.vertices[i] as f64,
            self.vertices[i + 1] as f64,
            self.vertices[i + 2] as f64,
        ]
    }

    fn cross(&self, f: usize) -> [f64; 3] {
        let [a, b, c] = [
            self.faces[3 * f],
            self.faces[3 * f + 1],
            self.faces[3 * f + 2],
        ]
        .map(|i| self.vertex(i));
        let (u, v) = (
            [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
            [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
        );
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    }

    /// Face areas `[F]`.
    pub fn face_areas(&self) -> Vec<f32> {
        (0..self.num_faces())
            .map(|f| {
                let n = self.cross(f);
                (0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt()) as f32
            })
            .collect()
    }

    /// Unit face normals `[F, 3]` (zero for degenerate faces).
    pub fn face_normals(&self) -> Vec<f32> {
        (0..self.num_faces())
            .flat_map(|f| {
                let n = self.cross(f);
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                let s = if len > 0.0 { 1.0 / len } else { 0.0 };
                [(n[0] * s) as f32, (n[1] * s) as f32, (n[2] * s) as f32]
            })
            .collect()
    }

    /// Total surface area.
    pub fn area(&self) -> f64 {
        self.face_areas().iter().map(|&a| a as f64).sum()
    }

    /// Umbrella (uniform Laplacian) smoothing, one step per entry of `lambdas`:
    ///
    /// ```text
    /// v_i ← v_i + λ_s (mean_{j ∈ N(i)} v_j − v_i)    N(i): the vertices sharing an edge with i
    /// ```
    ///
    /// Same faces; a vertex without neighbours stays. Positive steps alone shrink the surface;
    /// alternating λ = 0.5 and μ = −0.53 is Taubin's non-shrinking low-pass (Taubin, "A signal
    /// processing approach to fair surface design", SIGGRAPH 1995): folds and grooves (the
    /// high frequencies) flatten while the overall size stays.
    pub fn smoothed(&self, lambdas: &[f64]) -> Mesh {
        let n = self.num_vertices();
        let mut neighbours: Vec<Vec<u32>> = vec![Vec::new(); n];
        for f in self.faces.chunks_exact(3) {
            for (a, b) in [(f[0], f[1]), (f[1], f[2]), (f[2], f[0])] {
                for (x, y) in [(a, b), (b, a)] {
                    let list = &mut neighbours[x as usize];
                    if !list.contains(&y) {
                        list.push(y);
                    }
                }
            }
        }
        let mut v: Vec<f64> = self.vertices.iter().map(|&x| x as f64).collect();
        for &lambda in lambdas {
            let prev = v.clone();
            for (i, list) in neighbours.iter().enumerate() {
                if list.is_empty() {
                    continue;
                }
                for d in 0..3 {
                    let mean = list.iter().map(|&j| prev[3 * j as usize + d]).sum::<f64>()
                        / list.len() as f64;
                    v[3 * i + d] = prev[3 * i + d] + lambda * (mean - prev[3 * i + d]);
                }
            }
        }
        Mesh {
            vertices: v.into_iter().map(|x| x as f32).collect(),
            faces: self.faces.clone(),
        }
    }

    /// The mesh centred at its vertex mean and scaled to unit total area, as ULRSSM's
    /// preprocessing does before operators and geodesics
    /// (dongliangcao/Unsupervised-Learning-of-Robust-Spectral-Shape-Matching preprocess.py
    /// lines 49–56: `verts -= np.mean(verts, axis=0)`, `verts /= sqrt(area)`):
    ///
    /// ```text
    /// v ← (v − mean_i v_i) / √A,   A = Σ_faces ½‖(b − a) × (c − a)‖   (computed in f64)
    /// ```
    ///
    /// The vertices stay f32, so the new area is 1 to f32 precision (~1e-7 relative).
    ///
    /// # Errors
    /// A mesh of zero (or non-finite) area.
    pub fn unit_area_centered(&self) -> Result<Mesh> {
        let (mean, s) = self.unit_area_transform()?;
        let vertices = self
            .vertices
            .chunks_exact(3)
            .flat_map(|v| [0, 1, 2].map(|d| ((v[d] as f64 - mean[d]) / s) as f32))
            .collect();
        Mesh::new(vertices, self.faces.clone())
    }

    /// The f64 transform of [`Mesh::unit_area_centered`]: the vertex mean and √A, so that
    /// `(v − mean) / √A` (in f64) has area 1 to f64 precision; only the f32 store rounds.
    ///
    /// # Errors
    /// A mesh of zero (or non-finite) area.
    pub fn unit_area_transform(&self) -> Result<([f64; 3], f64)> {
        let n = self.num_vertices().max(1) as f64;
        let mut mean = [0.0f64; 3];
        for v in self.vertices.chunks_exact(3) {
            for d in 0..3 {
                mean[d] += v[d] as f64 / n;
            }
        }
        let p = |i: u32| {
            let i = i as usize * 3;
            [0, 1, 2].map(|d| self.vertices[i + d] as f64)
        };
        let area: f64 = self
            .faces
            .chunks_exact(3)
            .map(|f| {
                let (a, b, c) = (p(f[0]), p(f[1]), p(f[2]));
                let (u, w) = (
                    [0, 1, 2].map(|d| b[d] - a[d]),
                    [0, 1, 2].map(|d| c[d] - a[d]),
                );
                let x = [
                    u[1] * w[2] - u[2] * w[1],
                    u[2] * w[0] - u[0] * w[2],
                    u[0] * w[1] - u[1] * w[0],
                ];
                0.5 * (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt()
            })
            .sum();
        if !(area > 0.0 && area.is_finite()) {
            return Err(DataError::Invalid(format!(
                "cannot rescale a mesh of area {area} to unit area"
            )));
        }
        Ok((mean, area.sqrt()))
    }

    /// Vertices as a tensor `[V, 3]`.
    pub fn vertices_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.vertices.clone(), [self.num_vertices(), 3]),
            device,
        )
    }

    /// Triangles as an Int tensor `[F, 3]`.
    pub fn faces_tensor(&self, device: &Device) -> Tensor<2, Int> {
        let f: Vec<i64> = self.faces.iter().map(|&i| i as i64).collect();
        Tensor::from_data(TensorData::new(f, [self.num_faces(), 3]), device)
    }

    /// k points uniform on the surface (faces by area, uniform barycentric coordinates),
    /// from a generator seeded with `seed`.
    pub fn sample_surface(&self, k: usize, seed: u64) -> crate::PointCloud {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut cumulative = Vec::with_capacity(self.num_faces());
        let mut total = 0f64;
        for a in self.face_areas() {
            total += a as f64;
            cumulative.push(total);
        }
        let mut points = Vec::with_capacity(3 * k);
        for _ in 0..k {
            let u = rng.random::<f64>() * total;
            let f = cumulative
                .partition_point(|&c| c < u)
                .min(self.num_faces() - 1);
            let (r1, r2): (f64, f64) = (rng.random::<f64>().sqrt(), rng.random());
            let w = [1.0 - r1, r1 * (1.0 - r2), r1 * r2];
            for axis in 0..3 {
                let p: f64 = (0..3)
                    .map(|c| w[c] * self.vertices[3 * self.faces[3 * f + c] as usize + axis] as f64)
                    .sum();
                points.push(p as f32);
            }
        }
        crate::PointCloud::new(points)
    }

    /// Undirected edges, each once, sorted.
    pub fn edges(&self) -> Vec<(u32, u32)> {
        let mut e: Vec<(u32, u32)> = self
            .faces
            .chunks_exact(3)
            .flat_map(|t| [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])])
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        e.sort_unstable();
        e.dedup();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A right triangle of legs 3 and 4 (area 6) far from the origin, and the same scaled by 7:
    /// both become the same unit-area triangle centred at its vertex mean.
    #[test]
    fn unit_area_centering_is_ulrssm_preprocessing() {
        let tri = Mesh::new(
            vec![10.0, 5.0, 1.0, 13.0, 5.0, 1.0, 10.0, 9.0, 1.0],
            vec![0, 1, 2],
        )
        .unwrap();
        let u = tri.unit_area_centered().unwrap();
        assert!((u.area() - 1.0).abs() < 1e-6, "{}", u.area());
        for d in 0..3 {
            let m: f64 = (0..3).map(|i| u.vertices[3 * i + d] as f64).sum::<f64>() / 3.0;
            assert!(m.abs() < 1e-6, "mean {m}");
        }
        // Leg lengths 3/√6 and 4/√6.
        assert!((u.vertices[3] - u.vertices[0] - 3.0 / 6f32.sqrt()).abs() < 1e-6);
        assert!((u.vertices[7] - u.vertices[1] - 4.0 / 6f32.sqrt()).abs() < 1e-6);
        let big = Mesh::new(
            tri.vertices.iter().map(|x| x * 7.0).collect(),
            vec![0, 1, 2],
        )
        .unwrap();
        let ub = big.unit_area_centered().unwrap();
        for (a, b) in u.vertices.iter().zip(&ub.vertices) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let flat = Mesh::new(vec![0.0; 9], vec![0, 1, 2]).unwrap();
        assert!(flat.unit_area_centered().is_err());
    }

    /// The f64 transform gives area 1 to 1e-9 on an irregular closed mesh (a skewed
    /// tetrahedron of area ≈ 40), the area recomputed independently by Heron's formula on the
    /// transformed edge lengths; the vertex mean goes to 0.
    #[test]
    fn unit_area_transform_is_exact_in_f64() {
        let v = vec![
            1.5f32, -2.0, 0.25, 7.0, 0.5, -1.0, 2.0, 6.5, 1.0, 0.0, 1.0, 5.5,
        ];
        let m = Mesh::new(v.clone(), vec![0, 1, 2, 0, 3, 1, 1, 3, 2, 2, 3, 0]).unwrap();
        let (mean, s) = m.unit_area_transform().unwrap();
        let p: Vec<[f64; 3]> = v
            .chunks_exact(3)
            .map(|x| [0, 1, 2].map(|d| (x[d] as f64 - mean[d]) / s))
            .collect();
        let dist = |a: [f64; 3], b: [f64; 3]| {
            ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
        };
        let heron = |a: usize, b: usize, c: usize| {
            let (x, y, z) = (dist(p[a], p[b]), dist(p[b], p[c]), dist(p[c], p[a]));
            let h = (x + y + z) / 2.0;
            (h * (h - x) * (h - y) * (h - z)).sqrt()
        };
        let area = heron(0, 1, 2) + heron(0, 3, 1) + heron(1, 3, 2) + heron(2, 3, 0);
        assert!((area - 1.0).abs() < 1e-9, "area {area}");
        for d in 0..3 {
            let c: f64 = p.iter().map(|x| x[d]).sum::<f64>() / 4.0;
            assert!(c.abs() < 1e-12, "mean {c}");
        }
        assert!(
            s > 5.0,
            "the skewed tetrahedron's area is far from 1: √A = {s}"
        );
    }

    /// A tetrahedron: every vertex neighbours the other three, so one step moves v_i to
    /// v_i + λ(mean of the others − v_i) = (1 − 4λ/3) v_i + (λ/3) Σ_j v_j; zero steps change
    /// nothing, and the faces stay.
    #[test]
    fn umbrella_smoothing_matches_its_closed_form() {
        let v = vec![
            1.0f32, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0,
        ];
        let tet = Mesh::new(v.clone(), vec![0, 1, 2, 0, 3, 1, 1, 3, 2, 2, 3, 0]).unwrap();
        assert_eq!(tet.smoothed(&[]), tet);
        let s = tet.smoothed(&[0.5]);
        assert_eq!(s.faces, tet.faces);
        let sum = [1.0f64, 2.0, 3.0];
        for i in 0..4 {
            for d in 0..3 {
                let expected = (1.0 - 4.0 * 0.5 / 3.0) * v[3 * i + d] as f64 + 0.5 / 3.0 * sum[d];
                assert!((s.vertices[3 * i + d] as f64 - expected).abs() < 1e-6);
            }
        }
    }
}
