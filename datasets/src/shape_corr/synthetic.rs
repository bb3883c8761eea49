//! A synthetic correspondence benchmark that needs no download: near-isometric pairs of one
//! parametric surface with known correspondence.
//!
//! ```text
//! domain    u ∈ S² (a triangulation of the unit sphere)
//! surface   E(u) = r(u) · (1.0 u_x, 0.7 u_y, 1.3 u_z),   r(u) = 1 + Σ_b h_b exp(−‖u − c_b‖² / (2 w_b²))
//!           (four bumps of different sizes at fixed, asymmetric centres: no intrinsic symmetry)
//! bending   θ = κ z,  x' = 1/κ − (1/κ − x) cos θ,  z' = (1/κ − x) sin θ   (κ ~ U(−κ_max, κ_max))
//! meshes    even shapes: icosphere(k) with seeded tangential jitter; odd shapes: a UV sphere
//!           of similar size (different connectivity)
//! truth     template = icosphere(2) directions (162 points); corr[t] = the shape's vertex whose
//!           domain point is nearest to template point t
//! geodesics exact Dijkstra on the edge graph, divided by √area ([`super::normalised_geodesics`])
//! ```
//! A perfect method still has an error of about half an edge (nearest-vertex ground truth on
//! different triangulations).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geodesic::normalised_geodesics;
use super::layout::CorrShape;
use crate::error::{DataError, Result};
use crate::mesh::Mesh;
use crate::synthetic_mesh::{icosphere, uv_sphere};

/// Settings of [`synthetic_collection`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticCorrConfig {
    /// Number of shapes.
    pub shapes: usize,
    /// Icosphere subdivision of the even shapes (3: 642 vertices; odd shapes match its size).
    pub subdivision: usize,
    /// Largest bending curvature κ_max.
    pub max_bend: f64,
    /// Seed of the jitter and the bends.
    pub seed: u64,
}

const BUMPS: [([f64; 3], f64, f64); 4] = [
    ([0.0, 0.0, 1.0], 0.45, 0.35),
    ([0.8, 0.6, 0.0], 0.30, 0.30),
    ([-0.6, 0.2, -0.77], 0.20, 0.45),
    ([0.1, -0.9, 0.42], 0.35, 0.25),
];

fn unit(p: [f64; 3]) -> [f64; 3] {
    let n = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
    p.map(|x| x / n)
}

fn embed(u: [f64; 3], kappa: f64) -> [f64; 3] {
    let r = 1.0
        + BUMPS
            .iter()
            .map(|(c, h, w)| {
                let c = unit(*c);
                let d2: f64 = (0..3).map(|k| (u[k] - c[k]).powi(2)).sum();
                h * (-d2 / (2.0 * w * w)).exp()
            })
            .sum::<f64>();
    let (x, y, z) = (r * u[0], r * 0.7 * u[1], r * 1.3 * u[2]);
    if kappa.abs() < 1e-9 {
        return [x, y, z];
    }
    let theta = kappa * z;
    let rho = 1.0 / kappa - x;
    [1.0 / kappa - rho * theta.cos(), y, rho * theta.sin()]
}

fn domain(shape: usize, subdivision: usize, rng: &mut StdRng) -> Mesh {
    if shape.is_multiple_of(2) {
        let mut m = icosphere(subdivision);
        let edge = 1.1 / (1usize << subdivision) as f64;
        for p in m.vertices.chunks_exact_mut(3) {
            let q = [0, 1, 2].map(|k| p[k] as f64 + 0.25 * edge * (rng.random::<f64>() - 0.5));
            let q = unit(q);
            p.copy_from_slice(&q.map(|x| x as f32));
        }
        m
    } else {
        // about as many vertices as the icosphere: 2 + (rings − 1)·segments ≈ 10·4^k + 2
        let target = 10 * 4usize.pow(subdivision as u32);
        let rings = ((target as f64 / 2.0).sqrt()).round().max(3.0) as usize;
        let segments = (target / (rings - 1)).max(3);
        uv_sphere(rings, segments)
    }
}

/// `config.shapes` shapes with ground truth (corr to the 162-point template, normalised
/// geodesics).
pub fn synthetic_collection(config: &SyntheticCorrConfig) -> Result<Vec<CorrShape>> {
    if config.shapes == 0 || config.subdivision == 0 || config.subdivision > 4 {
        return Err(DataError::Invalid(format!(
            "synthetic correspondence: need ≥ 1 shape and subdivision 1..=4, got {} and {}",
            config.shapes, config.subdivision
        )));
    }
    let template = icosphere(2);
    let mut rng = StdRng::seed_from_u64(config.seed);
    (0..config.shapes)
        .map(|s| {
            let domain = domain(s, config.subdivision, &mut rng);
            let kappa = config.max_bend * (2.0 * rng.random::<f64>() - 1.0);
            let dom: Vec<[f64; 3]> = domain
                .vertices
                .chunks_exact(3)
                .map(|p| unit([p[0] as f64, p[1] as f64, p[2] as f64]))
                .collect();
            let vertices: Vec<f32> = dom
                .iter()
                .flat_map(|&u| embed(u, kappa).map(|x| x as f32))
                .collect();
            let mesh = Mesh::new(vertices, domain.faces.clone())?;
            let corr = template
                .vertices
                .chunks_exact(3)
                .map(|t| {
                    let t = [t[0] as f64, t[1] as f64, t[2] as f64];
                    (0..dom.len())
                        .max_by(|&a, &b| {
                            let da: f64 = (0..3).map(|k| dom[a][k] * t[k]).sum();
                            let db: f64 = (0..3).map(|k| dom[b][k] * t[k]).sum();
                            da.total_cmp(&db)
                        })
                        .expect("a non-empty mesh")
                })
                .collect();
            let dist = normalised_geodesics(&mesh);
            Ok(CorrShape {
                name: format!("synthetic_{s:03}"),
                mesh,
                corr: Some(corr),
                dist: Some(dist),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_alternate_triangulations_and_truth_is_consistent() {
        let c = SyntheticCorrConfig {
            shapes: 3,
            subdivision: 2,
            max_bend: 0.5,
            seed: 1,
        };
        let s = synthetic_collection(&c).unwrap();
        assert_eq!(s[0].mesh.num_vertices(), 162);
        assert_ne!(s[0].mesh.faces, s[1].mesh.faces);
        assert!(
            (s[1].mesh.num_vertices() as i64 - 162).abs() < 40,
            "{}",
            s[1].mesh.num_vertices()
        );
        // same triangulation type, different jitter and bend: different meshes
        assert_ne!(s[0].mesh.vertices, s[2].mesh.vertices);
        for shape in &s {
            let corr = shape.corr.as_ref().unwrap();
            assert_eq!(corr.len(), 162);
            let v = shape.mesh.num_vertices();
            let d = shape.dist.as_ref().unwrap();
            assert!(d.iter().all(|x| x.is_finite()));
            // ground truth of neighbouring template points lands on nearby vertices
            let near = d[corr[0] * v + corr[1]];
            assert!(near < 0.5, "{near}");
        }
        // near-isometry: template-to-template geodesics agree between shapes within 20%
        let (a, b) = (&s[0], &s[1]);
        let (ca, cb) = (a.corr.as_ref().unwrap(), b.corr.as_ref().unwrap());
        let (va, vb) = (a.mesh.num_vertices(), b.mesh.num_vertices());
        let mut worst: f64 = 0.0;
        for (t, u) in [(0, 50), (3, 120), (17, 99), (60, 161)] {
            let da = a.dist.as_ref().unwrap()[ca[t] * va + ca[u]];
            let db = b.dist.as_ref().unwrap()[cb[t] * vb + cb[u]];
            worst = worst.max((da - db).abs() / da.max(db));
        }
        assert!(worst < 0.2, "{worst}");
    }
}
