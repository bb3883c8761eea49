//! Surface-fitting metrics, on the host in f64: the table every mesh run writes.
//!
//! ```text
//! Chamfer(A, B)  = mean_a min_b ‖a − b‖² + mean_b min_a ‖a − b‖²   (point sets; PyTorch3D's
//!                  chamfer_distance, the loss CortexODE trains with, on the evaluation samples)
//! Hausdorff(A, B)= max( max_a min_b ‖a − b‖, max_b min_a ‖a − b‖ )  (point sets)
//! ASSD, HD90     point-to-surface, CortexODE's definition: see [`super::surface_distance`]
//! SIF %          self-intersecting faces, CortexODE's definition: see [`super::self_intersection`]
//! flipped        #{f : ⟨n_f(template), n_f(deformed)⟩ < 0}, faces whose normal reversed
//! NC(M, N)       = ½ ( mean_f |⟨n_f, n_{g(f)}⟩| + mean_g |⟨n_g, n_{f(g)}⟩| ),  g(f) the face of N
//!                  whose centroid is nearest to f's
//! ```
//! Nearest neighbours come from `kiddo`'s k-d tree. "Flipped" compares each face with the same
//! face of the template: a fold-over reverses it, but so would a legitimate turn of more than
//! 90° (an overhang of the target), so on folded targets it is an upper bound on fold-overs.

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

/// Faces of `deformed` whose unit normal points against the same face's normal in `template`
/// (degenerate faces, with no normal, are not counted).
pub fn flipped_faces(template: &Mesh, deformed: &Mesh) -> usize {
    let (a, b) = (template.face_normals(), deformed.face_normals());
    a.chunks_exact(3)
        .zip(b.chunks_exact(3))
        .filter(|(n, m)| (0..3).map(|k| n[k] as f64 * m[k] as f64).sum::<f64>() < 0.0)
        .count()
}

/// The metric set of one fitted mesh against its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshMetrics {
    /// Chamfer (squared distances) between the evaluation samples.
    pub chamfer: f64,
    /// CortexODE's ASSD.
    pub assd: f64,
    /// CortexODE's HD (90th percentile).
    pub hd90: f64,
    /// Percentage of self-intersecting faces.
    pub sif_percent: f64,
    /// Faces whose normal reversed against the template.
    pub flipped: usize,
    /// Normal consistency with the target.
    pub normal_consistency: f64,
}

impl MeshMetrics {
    /// Scores `deformed` (the template's faces, moved vertices) against `target`, from
    /// `points` surface samples on each (seeded); distances in the meshes' own units.
    pub fn compute(
        template: &Mesh,
        deformed: &Mesh,
        target: &Mesh,
        points: usize,
        seed: u64,
    ) -> Self {
        let d = super::surface_distance::surface_distances(deformed, target, points, seed);
        Self {
            chamfer: point_metrics(&d.pred_points, &d.target_points).chamfer,
            assd: d.assd,
            hd90: d.hd90,
            sif_percent: super::self_intersection::self_intersecting_percent(deformed),
            flipped: flipped_faces(template, deformed),
            normal_consistency: normal_consistency(deformed, target),
        }
    }

    /// The mean of each metric over `rows` (flipped faces rounded).
    pub fn mean(rows: &[MeshMetrics]) -> Self {
        let n = rows.len().max(1) as f64;
        let avg = |f: fn(&MeshMetrics) -> f64| rows.iter().map(f).sum::<f64>() / n;
        Self {
            chamfer: avg(|m| m.chamfer),
            assd: avg(|m| m.assd),
            hd90: avg(|m| m.hd90),
            sif_percent: avg(|m| m.sif_percent),
            flipped: avg(|m| m.flipped as f64).round() as usize,
            normal_consistency: avg(|m| m.normal_consistency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::synthetic_mesh::{ellipsoid, icosphere};

    #[test]
    fn flipped_faces_counts_reversed_normals() {
        // Two triangles of a square; vertex 3 moved across the diagonal 0–2 folds face 1 over.
        let square = Mesh::new(
            vec![0., 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0.],
            vec![0, 1, 2, 0, 2, 3],
        )
        .unwrap();
        let mut folded = square.clone();
        folded.vertices[9..12].copy_from_slice(&[1.0, 0.2, 0.0]);
        assert_eq!(flipped_faces(&square, &folded), 1);
        assert_eq!(flipped_faces(&square, &square), 0);
        // A rotation, a scaling and a smooth deformation flip nothing.
        let s = icosphere(3);
        assert_eq!(flipped_faces(&s, &ellipsoid(3, 1.0, 0.4, 0.7)), 0);
        let mut turned = s.clone();
        turned.vertices.chunks_exact_mut(3).for_each(|v| {
            let (x, y) = (v[0], v[1]);
            (v[0], v[1]) = (-y, x);
        });
        assert_eq!(flipped_faces(&s, &turned), 0);
        // Mirroring the flat square (x ↦ −x) reverses both normals.
        let mut mirrored = square.clone();
        mirrored
            .vertices
            .chunks_exact_mut(3)
            .for_each(|v| v[0] = -v[0]);
        assert_eq!(flipped_faces(&square, &mirrored), 2);
    }

    #[test]
    fn mesh_metrics_of_a_perfect_fit() {
        let s = icosphere(3);
        let m = MeshMetrics::compute(&s, &s, &s, 4_000, 1);
        assert!(m.assd < 1e-6 && m.hd90 < 1e-6 && m.chamfer < 1e-2);
        assert_eq!((m.sif_percent, m.flipped), (0.0, 0));
        assert!((m.normal_consistency - 1.0).abs() < 1e-6);
    }

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
}
