//! Log-domain Sinkhorn of the test-time refinement (official `adaptive_refinement_one.py`
//! `AdaptiveRefinement.sinkhorn` / `utils/sinkhorn_util.py` `sinkhorn_OT`, `dist_mat`).
//!
//! ```text
//! D_ij = ‖f_x,i − f_y,j‖²;   D ← D / mean(D);   log P = −D / (2σ²)
//! repeat n:  log P ← log P − LSE_row(log P);  log P ← log P − LSE_col(log P)
//! log P ← log P − LSE_row(log P);   P_xy = exp(log P)          (rows sum to 1)   [Vx, Vy]
//! log P ← log P − LSE_col(log P);   P_yx = exp(log P)ᵀ         (rows sum to 1)   [Vy, Vx]
//! ```
//! Official constants: σ = 0.1, n = 10 (`sinkhorn(distance_matrix, sigma=0.1, num_sink=10)`).

use burn::tensor::Tensor;

/// Official `sigma=0.1`.
pub const SINKHORN_SIGMA: f64 = 0.1;
/// Official `num_sink=10`.
pub const SINKHORN_ITERATIONS: usize = 10;

/// Squared Euclidean distances `[Vx, Vy]` between feature rows (official `dist_mat`).
pub fn feature_distances(feat_x: Tensor<2>, feat_y: Tensor<2>) -> Tensor<2> {
    let sx = feat_x.clone().powi_scalar(2).sum_dim(1); // [Vx, 1]
    let sy = feat_y.clone().powi_scalar(2).sum_dim(1).transpose(); // [1, Vy]
    feat_x.matmul(feat_y.transpose()).mul_scalar(-2.0) + sx + sy
}

fn log_sum_exp(x: Tensor<2>, dim: usize) -> Tensor<2> {
    let m = x.clone().max_dim(dim).detach();
    (x - m.clone()).exp().sum_dim(dim).log() + m
}

/// `(P_xy [Vx, Vy], P_yx [Vy, Vx])` from a distance matrix `d` `[Vx, Vy]`; differentiable.
pub fn sinkhorn_log(d: Tensor<2>, sigma: f64, iterations: usize) -> (Tensor<2>, Tensor<2>) {
    let d = d.clone() / d.mean().unsqueeze_dim::<2>(1);
    let mut log_p = d.div_scalar(-2.0 * sigma * sigma);
    for _ in 0..iterations {
        log_p = log_p.clone() - log_sum_exp(log_p, 1);
        log_p = log_p.clone() - log_sum_exp(log_p, 0);
    }
    log_p = log_p.clone() - log_sum_exp(log_p, 1);
    let p_xy = log_p.clone().exp();
    log_p = log_p.clone() - log_sum_exp(log_p, 0);
    (p_xy, log_p.exp().transpose())
}

/// The dense f64 twin of [`sinkhorn_log`] in the scaling form `P = diag(u) K diag(v)`,
/// `K = exp(−D/(2σ²))`: each row normalisation is `u ← 1 / (K v)`, each column
/// normalisation `v ← 1 / (Kᵀ u)`. `d` is `[n, m]` row-major.
pub fn sinkhorn_reference(
    d: &[f64],
    n: usize,
    m: usize,
    sigma: f64,
    iterations: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mean = d.iter().sum::<f64>() / (n * m) as f64;
    let kernel: Vec<f64> = d
        .iter()
        .map(|x| (-(x / mean) / (2.0 * sigma * sigma)).exp())
        .collect();
    let mut u = vec![1.0; n];
    let mut v = vec![1.0; m];
    let rows = |v: &[f64], u: &mut [f64]| {
        for i in 0..n {
            u[i] = 1.0 / (0..m).map(|j| kernel[i * m + j] * v[j]).sum::<f64>();
        }
    };
    let cols = |u: &[f64], v: &mut [f64]| {
        for j in 0..m {
            v[j] = 1.0 / (0..n).map(|i| kernel[i * m + j] * u[i]).sum::<f64>();
        }
    };
    for _ in 0..iterations {
        rows(&v, &mut u);
        cols(&u, &mut v);
    }
    rows(&v, &mut u);
    let p_xy: Vec<f64> = (0..n * m)
        .map(|k| u[k / m] * kernel[k] * v[k % m])
        .collect();
    cols(&u, &mut v);
    let mut p_yx = vec![0.0; m * n];
    for i in 0..n {
        for j in 0..m {
            p_yx[j * n + i] = u[i] * kernel[i * m + j] * v[j];
        }
    }
    (p_xy, p_yx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn points(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * d)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    fn plan(
        x: &[f32],
        y: &[f32],
        n: usize,
        d: usize,
        sigma: f64,
        it: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
        let device = Device::flex();
        let fx = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, d]), &device);
        let fy = Tensor::<2>::from_data(TensorData::new(y.to_vec(), [n, d]), &device);
        let dist = feature_distances(fx, fy);
        let dd = dist.to_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let (pxy, pyx) = sinkhorn_log(dist, sigma, it);
        (
            pxy.into_data().try_to_vec().unwrap(),
            pyx.into_data().try_to_vec().unwrap(),
            dd,
        )
    }

    #[test]
    fn log_domain_equals_the_dense_f64_scaling_form() {
        let (n, d) = (12, 4);
        let (x, y) = (points(n, d, 1), points(n, d, 2));
        let (pxy, pyx, dist) = plan(&x, &y, n, d, SINKHORN_SIGMA, SINKHORN_ITERATIONS);
        // the distance matrix itself, against its definition
        for i in 0..n {
            for j in 0..n {
                let want: f32 = (0..d).map(|a| (x[i * d + a] - y[j * d + a]).powi(2)).sum();
                assert!((dist[i * n + j] as f32 - want).abs() < 1e-5);
            }
        }
        let (rxy, ryx) = sinkhorn_reference(&dist, n, n, SINKHORN_SIGMA, SINKHORN_ITERATIONS);
        for k in 0..n * n {
            assert!(
                (pxy[k] as f64 - rxy[k]).abs() < 1e-4,
                "P_xy[{k}] {} vs {}",
                pxy[k],
                rxy[k]
            );
            assert!(
                (pyx[k] as f64 - ryx[k]).abs() < 1e-4,
                "P_yx[{k}] {} vs {}",
                pyx[k],
                ryx[k]
            );
        }
        for r in 0..n {
            assert!((pxy[r * n..(r + 1) * n].iter().sum::<f32>() - 1.0).abs() < 1e-4);
            assert!((pyx[r * n..(r + 1) * n].iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }

    /// As σ → 0 (with enough iterations) the plan becomes the optimal assignment of the
    /// squared-distance cost, found independently by the `lsap` crate.
    #[test]
    fn small_sigma_converges_to_the_exact_assignment() {
        let (n, d) = (10, 3);
        let (x, y) = (points(n, d, 5), points(n, d, 6));
        let (pxy, _, dist) = plan(&x, &y, n, d, 0.03, 400);
        let (rows, cols) = lsap::solve(n, n, &dist, false).unwrap();
        for (&i, &j) in rows.iter().zip(&cols) {
            assert!(
                pxy[i * n + j] > 0.95,
                "row {i}: P[{i},{j}] = {}",
                pxy[i * n + j]
            );
        }
        // and the official σ = 0.1 with 10 iterations is still soft: not yet the assignment
        let (soft, _, _) = plan(&x, &y, n, d, SINKHORN_SIGMA, SINKHORN_ITERATIONS);
        let min_diag = rows
            .iter()
            .zip(&cols)
            .map(|(&i, &j)| soft[i * n + j])
            .fold(1f32, f32::min);
        assert!(min_diag < 0.95);
    }
}
