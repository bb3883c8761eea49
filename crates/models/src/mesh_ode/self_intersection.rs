//! Self-intersections of a triangle mesh, as CortexODE reports them: the **percentage of faces**
//! that intersect another, non-adjacent face.
//!
//! ```text
//! SIF % = 100 · |{f : ∃ g, f ∩ g ≠ ∅, f and g share no vertex}| / F
//! ```
//! m-qiang/CortexODE util/mesh.py `check_self_intersect` (the "new version"): the set of faces
//! in any colliding pair over the number of faces (its "old version", pairs / F, over-counts).
//! Candidate pairs come from parry3d's bounding-volume hierarchy over the triangles' boxes
//! (`TriMesh::bvh`, O(F log F)); each candidate is decided by an exact separating-axis test on
//! the two triangles; faces sharing a vertex are neighbours, not intersections.

use datasets::Mesh;
use parry3d_f64::na::Point3;
use parry3d_f64::shape::TriMesh;

type Tri = [[f64; 3]; 3];

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Whether two triangles intersect (touching counts), by the separating-axis theorem over the
/// two normals, the nine edge–edge cross products and, for the coplanar case, the in-plane
/// edge normals.
pub fn triangles_intersect(p: &Tri, q: &Tri) -> bool {
    let ep = [sub(p[1], p[0]), sub(p[2], p[1]), sub(p[0], p[2])];
    let eq = [sub(q[1], q[0]), sub(q[2], q[1]), sub(q[0], q[2])];
    let (np, nq) = (cross(ep[0], ep[1]), cross(eq[0], eq[1]));
    let mut axes = vec![np, nq];
    for a in ep {
        for b in eq {
            axes.push(cross(a, b));
        }
    }
    for e in ep {
        axes.push(cross(np, e));
    }
    for e in eq {
        axes.push(cross(nq, e));
    }
    let scale = p
        .iter()
        .chain(q)
        .flat_map(|v| v.iter())
        .fold(0f64, |m, c| m.max(c.abs()))
        .max(1e-300);
    for axis in axes {
        let len = dot(axis, axis).sqrt();
        if len <= 1e-12 * scale * scale {
            continue;
        }
        let project = |t: &Tri| {
            let s = [dot(t[0], axis), dot(t[1], axis), dot(t[2], axis)];
            (s[0].min(s[1]).min(s[2]), s[0].max(s[1]).max(s[2]))
        };
        let ((p0, p1), (q0, q1)) = (project(p), project(q));
        let tol = 1e-12 * len * scale;
        if p1 < q0 - tol || q1 < p0 - tol {
            return false;
        }
    }
    true
}

/// The faces of `mesh` that intersect a non-adjacent face (sorted, each once).
pub fn self_intersecting_faces(mesh: &Mesh) -> Vec<usize> {
    let Some(trimesh) = trimesh(mesh) else {
        return Vec::new();
    };
    let corners: Vec<Tri> = mesh
        .faces
        .chunks_exact(3)
        .map(|t| {
            [t[0], t[1], t[2]]
                .map(|i| std::array::from_fn(|k| mesh.vertices[3 * i as usize + k] as f64))
        })
        .collect();
    let mut hit = vec![false; corners.len()];
    for (i, tri) in corners.iter().enumerate() {
        let aabb = trimesh.triangle(i as u32).local_aabb();
        let face_i = &mesh.faces[3 * i..3 * i + 3];
        for j in trimesh.bvh().intersect_aabb(&aabb) {
            let j = j as usize;
            if j <= i
                || mesh.faces[3 * j..3 * j + 3]
                    .iter()
                    .any(|v| face_i.contains(v))
            {
                continue;
            }
            if triangles_intersect(tri, &corners[j]) {
                hit[i] = true;
                hit[j] = true;
            }
        }
    }
    (0..hit.len()).filter(|&f| hit[f]).collect()
}

/// Percentage of faces of `mesh` that intersect a non-adjacent face (CortexODE's SIF %).
pub fn self_intersecting_percent(mesh: &Mesh) -> f64 {
    100.0 * self_intersecting_faces(mesh).len() as f64 / mesh.num_faces().max(1) as f64
}

/// The mesh as parry3d's `TriMesh` (f64), or `None` without faces.
pub(crate) fn trimesh(mesh: &Mesh) -> Option<TriMesh> {
    let vertices: Vec<Point3<f64>> = mesh
        .vertices
        .chunks_exact(3)
        .map(|v| Point3::new(v[0] as f64, v[1] as f64, v[2] as f64))
        .collect();
    let faces: Vec<[u32; 3]> = mesh
        .faces
        .chunks_exact(3)
        .map(|t| [t[0], t[1], t[2]])
        .collect();
    TriMesh::new(vertices, faces).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::synthetic_mesh::{icosphere, torus};

    #[test]
    fn self_intersecting_faces_on_known_meshes() {
        assert!(self_intersecting_faces(&icosphere(4)).is_empty());
        assert!(self_intersecting_faces(&torus(0.7, 0.3, 48, 24)).is_empty());
        // Next to a clean icosphere (F = 320): 3 crossing pairs far apart, and one horizontal
        // triangle pierced by two vertical ones. Intersecting faces: 3·2 + 3 = 9 (pairs: 5).
        let clean = icosphere(2);
        let (mut v, mut f) = (clean.vertices.clone(), clean.faces.clone());
        let add = |v: &mut Vec<f32>, f: &mut Vec<u32>, tri: [[f32; 3]; 3]| {
            let base = (v.len() / 3) as u32;
            tri.iter().for_each(|p| v.extend_from_slice(p));
            f.extend_from_slice(&[base, base + 1, base + 2]);
        };
        for k in 0..3 {
            let x = 10.0 + 5.0 * k as f32;
            add(
                &mut v,
                &mut f,
                [[x - 1.0, -1.0, 0.0], [x + 1.0, -1.0, 0.0], [x, 1.0, 0.0]],
            );
            add(
                &mut v,
                &mut f,
                [[x, 0.0, -1.0], [x, 0.0, 1.0], [x + 0.3, 0.2, 0.0]],
            );
        }
        let x = 40.0;
        add(
            &mut v,
            &mut f,
            [[x - 2.0, -2.0, 0.0], [x + 2.0, -2.0, 0.0], [x, 2.0, 0.0]],
        );
        for dx in [-0.5f32, 0.5] {
            add(
                &mut v,
                &mut f,
                [
                    [x + dx, 0.0, -1.0],
                    [x + dx, 0.0, 1.0],
                    [x + dx + 0.1, 0.2, 0.0],
                ],
            );
        }
        let planted = Mesh::new(v, f).unwrap();
        let faces = self_intersecting_faces(&planted);
        assert_eq!(faces, (320..329).collect::<Vec<_>>());
        let want = 100.0 * 9.0 / 329.0;
        assert!((self_intersecting_percent(&planted) - want).abs() < 1e-12);
    }

    #[test]
    fn exact_triangle_test_cases() {
        // Parallel planes, coplanar overlapping, coplanar disjoint.
        let t: Tri = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        assert!(!triangles_intersect(
            &t,
            &[[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
        ));
        assert!(triangles_intersect(
            &t,
            &[[0.2, 0.2, 0.0], [1.2, 0.2, 0.0], [0.2, 1.2, 0.0]]
        ));
        assert!(!triangles_intersect(
            &t,
            &[[0.6, 0.6, 0.0], [1.6, 0.6, 0.0], [0.6, 1.6, 0.0]]
        ));
        // A vertical triangle piercing t, and one standing just beside its hypotenuse.
        assert!(triangles_intersect(
            &t,
            &[[0.2, 0.2, -1.0], [0.2, 0.2, 1.0], [0.3, 0.1, 0.0]]
        ));
        assert!(!triangles_intersect(
            &t,
            &[[0.6, 0.6, -1.0], [0.6, 0.6, 1.0], [0.9, 0.9, 0.0]]
        ));
    }
}
