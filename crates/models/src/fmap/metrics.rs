//! Geodesic error of a point map and its PCK curve (official `metrics/geodist_metric.py`:
//! `calculate_geodesic_error`, `plot_pck` with `threshold=0.10`, `steps=40`).
//!
//! ```text
//! err_k = dist_x[corr_x[k], p2p[corr_y[k]]]      p2p: y → x, distances normalised by √area
//! PCK(t) = mean_k [err_k ≤ t],  t ∈ linspace(0, 0.1, 40);   AUC = trapz(PCK, linspace(0, 1, 40))
//! ```

/// Geodesic errors `[N]` of `p2p` (`[Vy]`, y → x) against ground-truth correspondences
/// `corr_x`, `corr_y` `[N]` to a common template, with `dist_x` `[Vx, Vx]` row-major.
/// Returns `None` if an index is out of range (the caller names the file).
pub fn geodesic_errors(
    dist_x: &[f64],
    num_x: usize,
    corr_x: &[usize],
    corr_y: &[usize],
    p2p: &[usize],
) -> Option<Vec<f64>> {
    corr_x
        .iter()
        .zip(corr_y)
        .map(|(&cx, &cy)| {
            let mapped = *p2p.get(cy)?;
            (cx < num_x && mapped < num_x).then(|| dist_x[cx * num_x + mapped])
        })
        .collect()
}

/// `(thresholds, pck, auc)` of the errors (official defaults: 0.10, 40 steps).
pub fn pck_curve(errors: &[f64], threshold: f64, steps: usize) -> (Vec<f64>, Vec<f64>, f64) {
    let t: Vec<f64> = (0..steps)
        .map(|i| threshold * i as f64 / (steps.max(2) - 1) as f64)
        .collect();
    let pck: Vec<f64> = t
        .iter()
        .map(|&th| errors.iter().filter(|&&e| e <= th).count() as f64 / errors.len().max(1) as f64)
        .collect();
    let dx = 1.0 / (steps.max(2) - 1) as f64;
    let auc = pck.windows(2).map(|w| 0.5 * (w[0] + w[1]) * dx).sum();
    (t, pck, auc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_the_distance_matrix_through_the_maps() {
        // 3 vertices on a line at 0, 1, 3: dist = |a − b|
        let pos: [f64; 3] = [0.0, 1.0, 3.0];
        let dist: Vec<f64> = (0..9).map(|k| (pos[k / 3] - pos[k % 3]).abs()).collect();
        // template point k is x-vertex corr_x[k] and y-vertex corr_y[k]
        let (corr_x, corr_y) = ([0, 1, 2], [2, 0, 1]);
        // a perfect map sends y-vertex corr_y[k] to corr_x[k]
        let perfect = [1, 2, 0];
        assert_eq!(
            geodesic_errors(&dist, 3, &corr_x, &corr_y, &perfect).unwrap(),
            vec![0.0; 3]
        );
        let constant = [0, 0, 0];
        assert_eq!(
            geodesic_errors(&dist, 3, &corr_x, &corr_y, &constant).unwrap(),
            vec![0.0, 1.0, 3.0]
        );
        assert!(geodesic_errors(&dist, 3, &corr_x, &[5, 0, 1], &constant).is_none());
    }

    #[test]
    fn pck_counts_and_auc_is_the_trapezoid_rule() {
        let (t, pck, auc) = pck_curve(&[0.0, 0.05, 1.0, 0.02], 0.1, 3);
        assert_eq!(t, vec![0.0, 0.05, 0.1]);
        assert_eq!(pck, vec![0.25, 0.75, 0.75]);
        // trapz over x = (0, 0.5, 1): 0.5·(0.25+0.75)/2 + 0.5·(0.75+0.75)/2 = 0.625
        assert!((auc - 0.625).abs() < 1e-12);
    }
}
