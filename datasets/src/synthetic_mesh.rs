//! Seeded synthetic triangle meshes: icosphere, UV sphere, torus, ellipsoid, bumpy sphere, and
//! two folded targets for surface fitting — a sphere cut by deep, narrow sulci (fold walls facing
//! each other, as in a cortical surface) and a bent capsule (a genus-0 shape with a concave
//! side that no ray from its centre sees whole).
//! All are closed, consistently oriented (normals point outward) and genus 0 except the torus.

use std::collections::HashMap;

use crate::mesh::Mesh;

/// The icosahedron subdivided `k` times (each triangle into 4), projected to the unit sphere:
/// V = 10·4^k + 2, F = 20·4^k (k = 6 gives 40 962 vertices).
pub fn icosphere(k: usize) -> Mesh {
    let t = (1.0 + 5f64.sqrt()) / 2.0;
    let mut v: Vec<[f64; 3]> = vec![
        [-1.0, t, 0.0],
        [1.0, t, 0.0],
        [-1.0, -t, 0.0],
        [1.0, -t, 0.0],
        [0.0, -1.0, t],
        [0.0, 1.0, t],
        [0.0, -1.0, -t],
        [0.0, 1.0, -t],
        [t, 0.0, -1.0],
        [t, 0.0, 1.0],
        [-t, 0.0, -1.0],
        [-t, 0.0, 1.0],
    ];
    let mut f: Vec<[u32; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    let normalize = |p: [f64; 3]| {
        let n = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        [p[0] / n, p[1] / n, p[2] / n]
    };
    v.iter_mut().for_each(|p| *p = normalize(*p));
    for _ in 0..k {
        let mut midpoint: HashMap<(u32, u32), u32> = HashMap::new();
        let mut mid = |a: u32, b: u32, v: &mut Vec<[f64; 3]>| -> u32 {
            *midpoint.entry((a.min(b), a.max(b))).or_insert_with(|| {
                let (p, q) = (v[a as usize], v[b as usize]);
                v.push(normalize([
                    (p[0] + q[0]) / 2.0,
                    (p[1] + q[1]) / 2.0,
                    (p[2] + q[2]) / 2.0,
                ]));
                (v.len() - 1) as u32
            })
        };
        let mut next = Vec::with_capacity(f.len() * 4);
        for [a, b, c] in f {
            let (ab, bc, ca) = (mid(a, b, &mut v), mid(b, c, &mut v), mid(c, a, &mut v));
            next.extend_from_slice(&[[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]);
        }
        f = next;
    }
    build(v, f)
}

fn build(v: Vec<[f64; 3]>, f: Vec<[u32; 3]>) -> Mesh {
    Mesh::new(
        v.iter().flat_map(|p| p.map(|c| c as f32)).collect(),
        f.into_iter().flatten().collect(),
    )
    .expect("generated indices are in range")
}

/// A UV sphere: `rings` latitude bands (≥ 2) and `segments` longitudes (≥ 3), with two poles.
pub fn uv_sphere(rings: usize, segments: usize) -> Mesh {
    use std::f64::consts::PI;
    let (rings, segments) = (rings.max(2), segments.max(3));
    let mut v = vec![[0.0, 0.0, 1.0]];
    for i in 1..rings {
        let theta = PI * i as f64 / rings as f64;
        for j in 0..segments {
            let phi = 2.0 * PI * j as f64 / segments as f64;
            v.push([
                theta.sin() * phi.cos(),
                theta.sin() * phi.sin(),
                theta.cos(),
            ]);
        }
    }
    v.push([0.0, 0.0, -1.0]);
    let south = (v.len() - 1) as u32;
    let ring = |i: usize, j: usize| (1 + (i - 1) * segments + j % segments) as u32;
    let mut f = Vec::new();
    for j in 0..segments {
        f.push([0, ring(1, j), ring(1, j + 1)]);
        f.push([south, ring(rings - 1, j + 1), ring(rings - 1, j)]);
    }
    for i in 1..rings - 1 {
        for j in 0..segments {
            let (a, b, c, d) = (
                ring(i, j),
                ring(i, j + 1),
                ring(i + 1, j),
                ring(i + 1, j + 1),
            );
            f.push([a, c, d]);
            f.push([a, d, b]);
        }
    }
    build(v, f)
}

/// A torus of radii `major` > `minor`, with `n` segments around the axis and `m` around the tube.
pub fn torus(major: f64, minor: f64, n: usize, m: usize) -> Mesh {
    use std::f64::consts::PI;
    let (n, m) = (n.max(3), m.max(3));
    let mut v = Vec::with_capacity(n * m);
    for i in 0..n {
        let theta = 2.0 * PI * i as f64 / n as f64;
        for j in 0..m {
            let phi = 2.0 * PI * j as f64 / m as f64;
            let w = major + minor * phi.cos();
            v.push([w * theta.cos(), w * theta.sin(), minor * phi.sin()]);
        }
    }
    let idx = |i: usize, j: usize| ((i % n) * m + j % m) as u32;
    let mut f = Vec::with_capacity(2 * n * m);
    for i in 0..n {
        for j in 0..m {
            let (a, b, c, d) = (idx(i, j), idx(i + 1, j), idx(i, j + 1), idx(i + 1, j + 1));
            f.push([a, b, d]);
            f.push([a, d, c]);
        }
    }
    build(v, f)
}

/// An icosphere scaled by diag(a, b, c).
pub fn ellipsoid(k: usize, a: f32, b: f32, c: f32) -> Mesh {
    let mut m = icosphere(k);
    for p in m.vertices.chunks_exact_mut(3) {
        p[0] *= a;
        p[1] *= b;
        p[2] *= c;
    }
    m
}

/// An icosphere whose radius is 1 + `amplitude`·h(u), h a seeded random combination of real
/// spherical harmonics of degree 1–3 (as [`crate::synthetic::Shape::BumpySphere`]).
pub fn bumpy_sphere(k: usize, amplitude: f32, seed: u64) -> Mesh {
    let mut m = icosphere(k);
    let h = crate::synthetic::harmonic_field(seed);
    for p in m.vertices.chunks_exact_mut(3) {
        let r = 1.0 + amplitude * h([p[0] as f64, p[1] as f64, p[2] as f64]) as f32;
        p.iter_mut().for_each(|c| *c *= r);
    }
    m
}

/// A sphere with `sulci` deep, narrow grooves along great circles whose normals n_j are drawn
/// from `seed`:
///
/// ```text
/// r(u) = 1 − depth · (1 − Π_j (1 − exp(−⟨u, n_j⟩² / (2 width²))))
/// ```
/// ⟨u, n_j⟩ is the sine of the angle from u to groove j, so each groove is a Gaussian trench of
/// angular standard deviation `width` (radians) whose floor lies at radius 1 − depth. With
/// depth ≫ width the two walls of a groove are nearly radial and face each other, the
/// regime where a loss that sees normals has something to do. Still a radial graph over the
/// sphere, hence closed, genus 0 and free of self-intersections. Resolve the walls with
/// `k` ≥ 5 (edge ≈ 0.038 rad) for width ≈ 0.07.
pub fn folded_sphere(k: usize, sulci: usize, depth: f32, width: f32, seed: u64) -> Mesh {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let normals: Vec<[f64; 3]> = (0..sulci)
        .map(|_| {
            let n: [f64; 3] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            n.map(|c| c / len)
        })
        .collect();
    let mut m = icosphere(k);
    let two_w2 = 2.0 * (width as f64).powi(2);
    for p in m.vertices.chunks_exact_mut(3) {
        let u = [p[0] as f64, p[1] as f64, p[2] as f64];
        let outside: f64 = normals
            .iter()
            .map(|n| {
                let s = u[0] * n[0] + u[1] * n[1] + u[2] * n[2];
                1.0 - (-s * s / two_w2).exp()
            })
            .product();
        let r = 1.0 - depth as f64 * (1.0 - outside);
        p.iter_mut().for_each(|c| *c = (*c as f64 * r) as f32);
    }
    m
}

/// A capsule-like ellipsoid (semi-axes 1, `thickness`, `thickness`) bent around the z axis into
/// a kidney shape, then centred and scaled into the unit ball (radius 0.95):
///
/// ```text
/// (x, y, z) ↦ ((R − y) sin(x / R), R − (R − y) cos(x / R), z),   R = `bend_radius`
/// ```
/// The map's Jacobian determinant is (R − y)/R > 0 for y < R (`thickness` < R), so the result is
/// an embedded, outward-oriented genus-0 surface; its inner side is concave, and some of its
/// outward normals point back towards its centre (the shape is not star-shaped from there).
pub fn bent_capsule(k: usize, thickness: f32, bend_radius: f32) -> Mesh {
    let mut m = ellipsoid(k, 1.0, thickness, thickness);
    let r = bend_radius as f64;
    for p in m.vertices.chunks_exact_mut(3) {
        let (x, y) = (p[0] as f64, p[1] as f64);
        let (s, c) = (x / r).sin_cos();
        p[0] = ((r - y) * s) as f32;
        p[1] = (r - (r - y) * c) as f32;
    }
    let frame = crate::mesh_frame::UnitFrame::fitting(&m).expect("a non-degenerate capsule");
    let mut unit = frame.forward(&m);
    unit.vertices.iter_mut().for_each(|c| *c *= 0.95);
    unit
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed and consistently oriented: every directed edge appears once and its reverse once.
    fn closed_and_oriented(m: &Mesh) {
        let mut directed: HashMap<(u32, u32), usize> = HashMap::new();
        for t in m.faces.chunks_exact(3) {
            for (a, b) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
                *directed.entry((a, b)).or_default() += 1;
            }
        }
        for (&(a, b), &count) in &directed {
            assert_eq!(count, 1, "edge {a}->{b} used twice");
            assert_eq!(directed.get(&(b, a)), Some(&1), "edge {a}->{b} has no twin");
        }
    }

    fn euler(m: &Mesh) -> i64 {
        m.num_vertices() as i64 - m.edges().len() as i64 + m.num_faces() as i64
    }

    /// Outward: Σ_f area_f ⟨n_f, centroid_f⟩ = 3·volume > 0 (divergence theorem).
    fn volume(m: &Mesh) -> f64 {
        let (areas, normals) = (m.face_areas(), m.face_normals());
        m.faces
            .chunks_exact(3)
            .enumerate()
            .map(|(f, t)| {
                let c: [f64; 3] = std::array::from_fn(|k| {
                    t.iter()
                        .map(|&i| m.vertices[i as usize * 3 + k] as f64)
                        .sum::<f64>()
                        / 3.0
                });
                areas[f] as f64
                    * (0..3)
                        .map(|k| normals[3 * f + k] as f64 * c[k])
                        .sum::<f64>()
                    / 3.0
            })
            .sum()
    }

    #[test]
    fn generated_meshes_are_closed_oriented_and_of_the_right_size() {
        use std::f64::consts::PI;
        let ico = icosphere(6);
        assert_eq!((ico.num_vertices(), ico.num_faces()), (40962, 81920));
        for m in [
            icosphere(0),
            icosphere(3),
            uv_sphere(12, 20),
            ellipsoid(3, 1.0, 0.7, 0.5),
            bumpy_sphere(3, 0.15, 4),
        ] {
            closed_and_oriented(&m);
            assert_eq!(euler(&m), 2);
            assert!(volume(&m) > 0.0);
        }
        let t = torus(0.7, 0.3, 32, 16);
        closed_and_oriented(&t);
        assert_eq!(euler(&t), 0);
        assert!(volume(&t) > 0.0);
        // Areas and volumes converge to the smooth surfaces'.
        assert!((icosphere(5).area() - 4.0 * PI).abs() < 0.01);
        assert!((volume(&icosphere(5)) - 4.0 / 3.0 * PI).abs() < 0.01);
        assert!((volume(&torus(0.7, 0.3, 128, 64)) - 2.0 * PI * PI * 0.7 * 0.09).abs() < 0.01);
        assert_eq!(bumpy_sphere(2, 0.15, 4), bumpy_sphere(2, 0.15, 4));
        for m in [
            folded_sphere(4, 3, 0.35, 0.07, 2),
            bent_capsule(3, 0.3, 0.75),
        ] {
            closed_and_oriented(&m);
            assert_eq!(euler(&m), 2);
            assert!(volume(&m) > 0.0);
        }
    }

    /// Unit outward normal and centroid of every face.
    fn faces_normals_centroids(m: &Mesh) -> Vec<([f64; 3], [f64; 3])> {
        let n = m.face_normals();
        m.faces
            .chunks_exact(3)
            .enumerate()
            .map(|(f, t)| {
                let c = std::array::from_fn(|k| {
                    t.iter()
                        .map(|&i| m.vertices[3 * i as usize + k] as f64)
                        .sum::<f64>()
                        / 3.0
                });
                (std::array::from_fn(|k| n[3 * f + k] as f64), c)
            })
            .collect()
    }

    #[test]
    fn folded_targets_have_facing_walls_and_concavities() {
        // Sulci: the floor reaches radius 1 − depth, and a large share of faces are walls whose
        // normal is more than 60° from the radial direction (a sphere or bumpy sphere has none).
        let (depth, width) = (0.35f32, 0.07f32);
        let folded = folded_sphere(5, 3, depth, width, 2);
        let radii: Vec<f64> = folded
            .vertices
            .chunks_exact(3)
            .map(|v| v.iter().map(|&c| (c as f64).powi(2)).sum::<f64>().sqrt())
            .collect();
        let min_r = radii.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(
            (min_r - (1.0 - depth as f64)).abs() < 0.02,
            "floor radius {min_r}"
        );
        assert!(radii.iter().all(|&r| r <= 1.0 + 1e-6));
        let wall_share = |m: &Mesh| {
            let fs = faces_normals_centroids(m);
            fs.iter()
                .filter(|(n, c)| {
                    let len = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
                    (n[0] * c[0] + n[1] * c[1] + n[2] * c[2]) / len < 0.5
                })
                .count() as f64
                / fs.len() as f64
        };
        assert!(wall_share(&folded) > 0.05, "{}", wall_share(&folded));
        assert_eq!(wall_share(&bumpy_sphere(5, 0.15, 4)), 0.0);
        // Walls face each other: across a groove, two faces within 3·width of each other have
        // normals more than 107° apart (opposite walls), which no convex surface has.
        let fs = faces_normals_centroids(&folded);
        let facing = fs.iter().step_by(7).any(|(n, c)| {
            fs.iter().any(|(m, d)| {
                let dist2: f64 = (0..3).map(|k| (c[k] - d[k]).powi(2)).sum();
                dist2 < (3.0 * width as f64).powi(2)
                    && (0..3).map(|k| n[k] * m[k]).sum::<f64>() < -0.3
            })
        });
        assert!(facing, "no pair of facing walls");
        // The bent capsule: inside the unit ball, and some outward normals point back to the
        // centre of its bounding box (a concavity; impossible for a star-shaped surface).
        let kidney = bent_capsule(4, 0.3, 0.75);
        assert!(
            kidney
                .vertices
                .chunks_exact(3)
                .all(|v| v.iter().map(|c| c * c).sum::<f32>() <= 0.95f32.powi(2) + 1e-5)
        );
        let inward = faces_normals_centroids(&kidney)
            .iter()
            .filter(|(n, c)| n[0] * c[0] + n[1] * c[1] + n[2] * c[2] < 0.0)
            .count();
        assert!(inward > 0, "no concave face");
        assert_eq!(
            faces_normals_centroids(&ellipsoid(4, 1.0, 0.3, 0.3))
                .iter()
                .filter(|(n, c)| n[0] * c[0] + n[1] * c[1] + n[2] * c[2] < 0.0)
                .count(),
            0
        );
        assert_ne!(bumpy_sphere(2, 0.15, 4), bumpy_sphere(2, 0.15, 5));
    }
}
