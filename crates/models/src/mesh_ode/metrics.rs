//! Surface-fitting metrics, on the host in f64.
//!
//! ```text
//! Chamfer(A, B)  = mean_a min_b ‖a − b‖² + mean_b min_a ‖a − b‖²
//! Hausdorff(A, B)= max( max_a min_b ‖a − b‖, max_b min_a ‖a − b‖ )
//! ASSD(A, B)     = ( Σ_a min_b ‖a − b‖ + Σ_b min_a ‖a − b‖ ) / (|A| + |B|)
//! NC(M, N)       = ½ ( mean_f |⟨n_f, n_{g(f)}⟩| + mean_g |⟨n_g, n_{f(g)}⟩| ),  g(f) the face of N
//!                  whose centroid is nearest to f's
//! ```
//! Nearest neighbours come from `kiddo`'s k-d tree. Self-intersections are counted exactly:
//! candidate face pairs from a sweep over x of the faces' bounding boxes (overlapping in y and
//! z too), then a separating-axis test on the two triangles; faces sharing a vertex are
//! neighbours, not intersections.

use datasets::Mesh;
use kiddo::{ImmutableKdTree, SquaredEuclidean};

fn points(v: &[f32]) -> Vec<[f64; 3]> {
    v.chunks_exact(3)
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect()
}

/// Squared distance from each of `from` to its nearest point of `to`.
pub fn nearest_sq(from: &[[f64; 3]], to: &[[f64; 3]]) -> Vec<f64> {
    let tree = ImmutableKdTree::new_from_slice(to).expect("a k-d tree over finite points");
    tree.query_batch(from)
        .nearest_one::<SquaredEuclidean<f64>>()
        .execute()
        .iter()
        .map(|r| r.distance)
        .collect()
}

/// Chamfer, Hausdorff and ASSD between two point sets `[n, 3]` (row-major f32).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointMetrics {
    /// Sum of the two mean squared nearest-neighbour distances.
    pub chamfer: f64,
    /// Largest nearest-neighbour distance, both ways.
    pub hausdorff: f64,
    /// Average symmetric surface distance.
    pub assd: f64,
}

/// Chamfer, Hausdorff and ASSD between `a` and `b`.
pub fn point_metrics(a: &[f32], b: &[f32]) -> PointMetrics {
    let (pa, pb) = (points(a), points(b));
    let (ab, ba) = (nearest_sq(&pa, &pb), nearest_sq(&pb, &pa));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let max = |v: &[f64]| v.iter().cloned().fold(0f64, f64::max).sqrt();
    PointMetrics {
        chamfer: mean(&ab) + mean(&ba),
        hausdorff: max(&ab).max(max(&ba)),
        assd: (ab.iter().map(|d| d.sqrt()).sum::<f64>() + ba.iter().map(|d| d.sqrt()).sum::<f64>())
            / (pa.len() + pb.len()).max(1) as f64,
    }
}

fn centroids(m: &Mesh) -> Vec<[f64; 3]> {
    m.faces
        .chunks_exact(3)
        .map(|t| {
            std::array::from_fn(|k| {
                t.iter()
                    .map(|&i| m.vertices[3 * i as usize + k] as f64)
                    .sum::<f64>()
                    / 3.0
            })
        })
        .collect()
}

/// Normal consistency in [0, 1] (1: matching orientations up to sign).
pub fn normal_consistency(a: &Mesh, b: &Mesh) -> f64 {
    let one_way = |p: &Mesh, q: &Mesh| {
        let (cp, cq) = (centroids(p), centroids(q));
        let (np, nq) = (p.face_normals(), q.face_normals());
        let tree = ImmutableKdTree::new_from_slice(&cq).expect("finite centroids");
        let nearest = tree
            .query_batch(&cp)
            .nearest_one::<SquaredEuclidean<f64>>()
            .execute();
        nearest
            .iter()
            .enumerate()
            .map(|(f, r)| {
                let g = r.item as usize;
                (0..3)
                    .map(|k| np[3 * f + k] as f64 * nq[3 * g + k] as f64)
                    .sum::<f64>()
                    .abs()
            })
            .sum::<f64>()
            / cp.len().max(1) as f64
    };
    0.5 * (one_way(a, b) + one_way(b, a))
}

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

/// Number of pairs of non-adjacent faces (no shared vertex) that intersect.
pub fn count_self_intersections(mesh: &Mesh) -> usize {
    let v = points(&mesh.vertices);
    let tris: Vec<([u32; 3], Tri)> = mesh
        .faces
        .chunks_exact(3)
        .map(|t| {
            (
                [t[0], t[1], t[2]],
                [v[t[0] as usize], v[t[1] as usize], v[t[2] as usize]],
            )
        })
        .collect();
    let boxes: Vec<([f64; 3], [f64; 3])> = tris
        .iter()
        .map(|(_, t)| {
            let lo = std::array::from_fn(|k| t[0][k].min(t[1][k]).min(t[2][k]));
            let hi = std::array::from_fn(|k| t[0][k].max(t[1][k]).max(t[2][k]));
            (lo, hi)
        })
        .collect();
    let mut order: Vec<usize> = (0..tris.len()).collect();
    order.sort_by(|&a, &b| boxes[a].0[0].total_cmp(&boxes[b].0[0]));
    let mut count = 0;
    for (k, &i) in order.iter().enumerate() {
        let (lo_i, hi_i) = boxes[i];
        for &j in &order[k + 1..] {
            let (lo_j, hi_j) = boxes[j];
            if lo_j[0] > hi_i[0] {
                break;
            }
            if lo_j[1] > hi_i[1] || lo_i[1] > hi_j[1] || lo_j[2] > hi_i[2] || lo_i[2] > hi_j[2] {
                continue;
            }
            if tris[i].0.iter().any(|a| tris[j].0.contains(a)) {
                continue;
            }
            if triangles_intersect(&tris[i].1, &tris[j].1) {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::synthetic_mesh::{ellipsoid, icosphere, torus};

    #[test]
    fn point_metrics_on_known_sets() {
        let a = vec![0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0];
        let b = vec![0.0f32, 0.0, 0.5, 1.0, 0.0, 0.0, 4.0, 0.0, 0.0];
        let m = point_metrics(&a, &b);
        // a→b: 0.25, 0 (mean 0.125); b→a: 0.25, 0, 9 (mean 3.0833).
        assert!((m.chamfer - (0.125 + 9.25 / 3.0)).abs() < 1e-12);
        assert!((m.hausdorff - 3.0).abs() < 1e-12);
        assert!((m.assd - (0.5 + 0.5 + 3.0) / 5.0).abs() < 1e-12);
        let same = point_metrics(&b, &b);
        assert_eq!((same.chamfer, same.hausdorff, same.assd), (0.0, 0.0, 0.0));
    }

    #[test]
    fn normal_consistency_is_one_on_itself_and_drops_when_shapes_differ() {
        let s = icosphere(3);
        assert!((normal_consistency(&s, &s) - 1.0).abs() < 1e-6);
        let e = ellipsoid(3, 1.0, 0.3, 0.3);
        let nc = normal_consistency(&s, &e);
        assert!(nc < 0.95 && nc > 0.3, "{nc}");
    }

    #[test]
    fn self_intersection_counts() {
        assert_eq!(count_self_intersections(&icosphere(4)), 0);
        assert_eq!(count_self_intersections(&torus(0.7, 0.3, 48, 24)), 0);
        // Plant 3 crossing pairs, far apart, next to a clean icosphere.
        let mut v = icosphere(2).vertices;
        let mut f = icosphere(2).faces;
        for k in 0..3 {
            let x = 10.0 + 5.0 * k as f32;
            let base = (v.len() / 3) as u32;
            // A horizontal triangle and a vertical one piercing it.
            v.extend_from_slice(&[x - 1.0, -1.0, 0.0, x + 1.0, -1.0, 0.0, x, 1.0, 0.0]);
            v.extend_from_slice(&[x, 0.0, -1.0, x, 0.0, 1.0, x + 0.3, 0.2, 0.0]);
            f.extend_from_slice(&[base, base + 1, base + 2, base + 3, base + 4, base + 5]);
        }
        let planted = Mesh::new(v, f).unwrap();
        assert_eq!(count_self_intersections(&planted), 3);
        // Separated, touching-at-a-corner and coplanar-overlapping cases of the exact test.
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
    }
}
