//! Exact W₂² between two equal-size uniform point clouds, by linear assignment.
//!
//! ```text
//! W₂²(μ, ν) = min_σ (1/n) Σ_i ‖x_i − y_σ(i)‖²      μ = (1/n) Σ δ_{x_i}, ν = (1/n) Σ δ_{y_j}
//! ```
//! For equal sizes and uniform weights an optimal plan is a permutation (Birkhoff), so the
//! linear sum assignment problem gives the exact value. Solved on the host in f64 with the
//! `lsap` crate (a port of SciPy's `linear_sum_assignment`, shortest augmenting paths).
//! Used as the ground-truth metric of gradient flows, not as a loss (it has no gradient).

use crate::error::{Result, SwError};

/// Exact W₂² between `x: [n, d]` and `y: [n, d]` (row-major host slices).
pub fn exact_w2sq(x: &[f64], y: &[f64], d: usize) -> Result<f64> {
    if d == 0 || !x.len().is_multiple_of(d) || !y.len().is_multiple_of(d) {
        return Err(SwError::Shape {
            what: "exact_w2sq points",
            expected: format!("row-major [n, {d}]"),
            got: vec![x.len(), y.len()],
        });
    }
    let (n, m) = (x.len() / d, y.len() / d);
    if n != m {
        return Err(SwError::Shape {
            what: "exact_w2sq y",
            expected: format!("[{n}, {d}] (equal sizes: the assignment solver needs n = m)"),
            got: vec![m, d],
        });
    }
    if n == 0 {
        return Err(SwError::Empty {
            what: "x",
            shape: vec![0, d],
        });
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(SwError::NonFinite {
            what: "exact_w2sq points",
        });
    }
    // W₂²(μ, ν) = ‖m_μ − m_ν‖² + W₂²(μ − m_μ, ν − m_ν): Σ_i (x_i − y_σ(i)) does not depend on
    // σ, so centring both clouds leaves the optimal assignment unchanged. The solver is much
    // faster on centred costs (far-apart clouds make every cost nearly equal).
    let mean = |v: &[f64]| -> Vec<f64> {
        (0..d)
            .map(|k| v.iter().skip(k).step_by(d).sum::<f64>() / n as f64)
            .collect()
    };
    let (mx, my) = (mean(x), mean(y));
    let gap: f64 = mx.iter().zip(&my).map(|(a, b)| (a - b) * (a - b)).sum();
    let xc: Vec<f64> = x.iter().enumerate().map(|(i, v)| v - mx[i % d]).collect();
    let yc: Vec<f64> = y.iter().enumerate().map(|(i, v)| v - my[i % d]).collect();
    let mut cost = vec![0f64; n * n];
    for i in 0..n {
        let xi = &xc[i * d..(i + 1) * d];
        for j in 0..n {
            let yj = &yc[j * d..(j + 1) * d];
            cost[i * n + j] = xi.iter().zip(yj).map(|(a, b)| (a - b) * (a - b)).sum();
        }
    }
    let (rows, cols) = lsap::solve(n, n, &cost, false).map_err(|e| SwError::InvalidParameter {
        name: "exact_w2sq",
        message: format!("assignment solver failed: {e}"),
    })?;
    Ok(gap
        + rows
            .iter()
            .zip(&cols)
            .map(|(&i, &j)| cost[i * n + j])
            .sum::<f64>()
            / n as f64)
}

/// The earth mover's distance of point-cloud papers between equal-size uniform clouds: the
/// *sum* over points of Euclidean distances under the optimal matching,
/// `EMD = min_σ Σ_i ‖x_i − y_σ(i)‖ = n · W₁`, by linear assignment on Euclidean costs.
pub fn exact_emd(x: &[f64], y: &[f64], d: usize) -> Result<f64> {
    if d == 0 || !x.len().is_multiple_of(d) || y.len() != x.len() {
        return Err(SwError::Shape {
            what: "exact_emd points",
            expected: format!("two row-major [n, {d}] clouds of equal size"),
            got: vec![x.len(), y.len()],
        });
    }
    let n = x.len() / d;
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(SwError::NonFinite {
            what: "exact_emd points",
        });
    }
    let mut cost = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            cost[i * n + j] = (0..d)
                .map(|k| (x[i * d + k] - y[j * d + k]).powi(2))
                .sum::<f64>()
                .sqrt();
        }
    }
    let (rows, cols) = lsap::solve(n, n, &cost, false).map_err(|e| SwError::InvalidParameter {
        name: "exact_emd",
        message: format!("assignment solver failed: {e}"),
    })?;
    Ok(rows.iter().zip(&cols).map(|(&i, &j)| cost[i * n + j]).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_of_the_same_cloud_costs_zero_and_shift_costs_its_square() {
        let x: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut y = Vec::new();
        for i in (0..10).rev() {
            y.extend_from_slice(&x[i * 3..(i + 1) * 3]);
        }
        assert!(exact_w2sq(&x, &y, 3).unwrap() < 1e-15);
        let shifted: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(k, v)| v + [1.0, -2.0, 0.5][k % 3])
            .collect();
        // A translation's optimal plan is the identity pairing: cost ‖t‖² = 5.25.
        assert!((exact_w2sq(&x, &shifted, 3).unwrap() - 5.25).abs() < 1e-12);
        assert!(exact_w2sq(&x, &y[..27], 3).is_err());
        // EMD of a translation is n‖t‖ (each point moves by t), and 0 for a permutation.
        let t_norm = (1.0f64 + 4.0 + 0.25).sqrt();
        assert!((exact_emd(&x, &shifted, 3).unwrap() - 10.0 * t_norm).abs() < 1e-9);
        assert!(exact_emd(&x, &y, 3).unwrap() < 1e-12);
    }
}
