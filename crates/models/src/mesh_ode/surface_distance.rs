//! Point-to-surface distances between two meshes, as CortexODE evaluates a fit:
//!
//! ```text
//! X = n points sampled uniformly (by area) on the prediction P,  Y = n points on the target G
//! d_X(x) = min_{y ∈ G} ‖x − y‖   (exact distance to G's triangles),   d_Y likewise to P
//! ASSD   = ( mean d_X + mean d_Y ) / 2
//! HD90   = max( q₀.₉(d_X), q₀.₉(d_Y) )        q the quantile with linear interpolation
//! ```
//! m-qiang/CortexODE util/mesh.py `compute_mesh_distance` (n_pts = 100 000, PyTorch3D's
//! `sample_points_from_meshes` and point-to-face distance, `torch.quantile(·, 0.9)`); the
//! 90th percentile, not the maximum, is CortexODE's "Hausdorff distance". The exact distances come
//! from parry3d's point projection onto a `TriMesh` (a BVH over the triangles), in f64.

use datasets::Mesh;
use parry3d_f64::na::Point3;
use parry3d_f64::query::PointQuery;

use super::self_intersection::trimesh;

/// CortexODE's evaluation sample size per mesh (util/mesh.py: `n_pts=100000`).
pub const CORTEXODE_POINTS: usize = 100_000;

/// Exact distance from each point (row-major `[n, 3]`) to the surface of `mesh` (which must
/// have faces).
pub fn point_to_surface(points: &[f32], mesh: &Mesh) -> Vec<f64> {
    let surface = trimesh(mesh).expect("a mesh with faces");
    points
        .chunks_exact(3)
        .map(|p| {
            let p = Point3::new(p[0] as f64, p[1] as f64, p[2] as f64);
            (surface.project_local_point(&p, false).point - p).norm()
        })
        .collect()
}

/// The `q`-quantile of `values` with linear interpolation between order statistics
/// (`torch.quantile`'s default, `numpy.quantile`'s "linear"): position q·(n − 1).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos.fract());
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + frac * (v[hi] - v[lo])
}

/// ASSD and HD90 of a fit, plus the samples and distances behind them.
#[derive(Debug, Clone)]
pub struct SurfaceDistances {
    /// Average symmetric surface distance.
    pub assd: f64,
    /// The larger of the two directed 90th-percentile distances.
    pub hd90: f64,
    /// Points sampled on the prediction, `[n, 3]`.
    pub pred_points: Vec<f32>,
    /// Points sampled on the target, `[n, 3]`.
    pub target_points: Vec<f32>,
    /// Distance of each prediction point to the target surface.
    pub pred_to_target: Vec<f64>,
    /// Distance of each target point to the predicted surface.
    pub target_to_pred: Vec<f64>,
}

/// ASSD and HD90 between `pred` and `target` from `n` surface samples on each (seeded).
pub fn surface_distances(pred: &Mesh, target: &Mesh, n: usize, seed: u64) -> SurfaceDistances {
    let pred_points = pred.sample_surface(n, seed).points;
    let target_points = target.sample_surface(n, seed.wrapping_add(1)).points;
    let pred_to_target = point_to_surface(&pred_points, target);
    let target_to_pred = point_to_surface(&target_points, pred);
    let mean = |d: &[f64]| d.iter().sum::<f64>() / d.len().max(1) as f64;
    SurfaceDistances {
        assd: 0.5 * (mean(&pred_to_target) + mean(&target_to_pred)),
        hd90: quantile(&pred_to_target, 0.9).max(quantile(&target_to_pred, 0.9)),
        pred_points,
        target_points,
        pred_to_target,
        target_to_pred,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::synthetic_mesh::icosphere;

    #[test]
    fn quantile_interpolates_like_torch() {
        let v: Vec<f64> = (0..=10).rev().map(f64::from).collect();
        assert_eq!(quantile(&v, 0.9), 9.0);
        // torch.quantile(tensor([1., 2., 3., 4.]), 0.9) = 3.7 (position 2.7).
        assert!((quantile(&[4.0, 1.0, 3.0, 2.0], 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(quantile(&[5.0], 0.9), 5.0);
    }

    /// Smallest distance from the origin to a face plane of a unit-sphere mesh: every point of
    /// the mesh has radius in [h, 1] (vertices on the sphere, faces inside it).
    fn inner_radius(m: &Mesh) -> f64 {
        let n = m.face_normals();
        m.faces
            .chunks_exact(3)
            .enumerate()
            .map(|(f, t)| {
                let a = &m.vertices[3 * t[0] as usize..3 * t[0] as usize + 3];
                (0..3)
                    .map(|k| n[3 * f + k] as f64 * a[k] as f64)
                    .sum::<f64>()
                    .abs()
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn concentric_spheres_are_the_radius_gap_apart() {
        // Inner: icosphere(3) of radius r1 = 1; outer: icosphere(4) of radius r2 = 1.5. A point
        // of one mesh lies at radius ∈ [r h, r] (h its inner radius); the ray through it meets
        // the other mesh at radius ∈ [r' h', r'], so every distance lies in
        // [r2 h2 − r1, r2 − r1 h1] (outer → inner) and [r2 h2 − r1, r2 − r1 h1] too (inner →
        // outer: ≥ r2 h2 − |p| ≥ r2 h2 − r1, ≤ r2 − |p| ≤ r2 − r1 h1).
        let (r1, r2) = (1.0, 1.5);
        let inner = icosphere(3);
        let mut outer = icosphere(4);
        outer.vertices.iter_mut().for_each(|c| *c *= r2 as f32);
        let (h1, h2) = (inner_radius(&inner), inner_radius(&icosphere(4)));
        let (lo, hi) = (r2 * h2 - r1, r2 - r1 * h1);
        // The tessellation error the bound allows: ≈ 1.1 % of the gap here.
        assert!(lo > 0.49 && hi < 0.51, "[{lo}, {hi}]");
        let d = surface_distances(&outer, &inner, 20_000, 3);
        for (what, dist) in [
            ("outer→inner", &d.pred_to_target),
            ("inner→outer", &d.target_to_pred),
        ] {
            let (min, max) = dist
                .iter()
                .fold((f64::INFINITY, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
            assert!(
                min >= lo - 1e-6 && max <= hi + 1e-6,
                "{what}: [{min}, {max}] ⊄ [{lo}, {hi}]"
            );
        }
        assert!(d.assd >= lo && d.assd <= hi && d.hd90 >= lo && d.hd90 <= hi);
        // A mesh against itself: only f32 rounding of the samples.
        let same = surface_distances(&inner, &inner, 5_000, 4);
        assert!(
            same.assd < 1e-6 && same.hd90 < 1e-6,
            "{} {}",
            same.assd,
            same.hd90
        );
    }

    #[test]
    fn a_shifted_square_is_exactly_the_shift_away() {
        // Unit square and its copy 0.3 above: every sample projects straight down or up, so
        // every distance is 0.3 — including HD90 — and a lateral shift would break that.
        let square = Mesh::new(
            vec![0., 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0.],
            vec![0, 1, 2, 0, 2, 3],
        )
        .unwrap();
        let mut lifted = square.clone();
        lifted.vertices.chunks_exact_mut(3).for_each(|v| v[2] = 0.3);
        let d = surface_distances(&lifted, &square, 2_000, 5);
        assert!(
            d.pred_to_target
                .iter()
                .chain(&d.target_to_pred)
                .all(|x| (x - 0.3).abs() < 1e-6)
        );
        assert!((d.assd - 0.3).abs() < 1e-6 && (d.hd90 - 0.3).abs() < 1e-6);
        // Shifted sideways by 1 as well (x ∈ [1, 2]): the copy's point (1 + u, y, 0.3) is at
        // √(0.09 + u²) from the square's edge x = 1, u ~ U(0, 1), whose mean is
        // ∫₀¹ √(a² + u²) du = ½ (√(1 + a²) + a² ln((1 + √(1 + a²)) / a)) ≈ 0.6084 for a = 0.3.
        let mut beside = lifted.clone();
        beside
            .vertices
            .chunks_exact_mut(3)
            .for_each(|v| v[0] += 1.0);
        let d = surface_distances(&beside, &square, 20_000, 6);
        let closed = 0.5 * (1.0f64 * 1.09f64.sqrt() + 0.09 * ((1.0 + 1.09f64.sqrt()) / 0.3).ln());
        let mean_xy = d.pred_to_target.iter().sum::<f64>() / d.pred_to_target.len() as f64;
        assert!((mean_xy - closed).abs() < 0.01, "{mean_xy} vs {closed}");
    }
}
