//! Soft permutations from feature similarity, the functional maps they induce, and the
//! conversion of a functional map to a point map (official `networks/permutation_network.py`
//! `Similarity`, `models/fmnet_model.py` `compute_permutation_matrix`, `utils/fmap_util.py`
//! `fmap2pointmap`, `nn_query`).
//!
//! ```text
//! f̂ = f / max(‖f‖, 1e-12)                                 (F.normalize)
//! P_xy = softmax_row( f̂x f̂yᵀ / τ )   [Vx, Vy],   τ = 0.07 (options/train/faust.yaml)
//! C_xy_est = Φyᵀ My (P_yx Φx)          [K, K]
//! p2p[y] = argmin_x ‖(Φx C_xyᵀ)[x] − Φy[y]‖                (y → x)
//! ```

use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor};

/// Rows scaled to unit L2 norm (official `F.normalize(dim=-1, eps=1e-12)`).
pub fn l2_normalize_rows(f: Tensor<2>) -> Tensor<2> {
    let norm = f.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    f / norm
}

/// Row-stochastic soft permutation `softmax_row(f̂x f̂yᵀ / τ)`.
///
/// # Shapes
/// `feat_x` `[Vx, C]`, `feat_y` `[Vy, C]` → `[Vx, Vy]`.
pub fn soft_permutation(feat_x: Tensor<2>, feat_y: Tensor<2>, tau: f64) -> Tensor<2> {
    let sim = l2_normalize_rows(feat_x).matmul(l2_normalize_rows(feat_y).transpose());
    softmax(sim.div_scalar(tau), 1)
}

/// The functional map induced by a vertex map `p_yx` `[Vy, Vx]`: `Φyᵀ My (P_yx Φx)` `[K, K]`.
pub fn estimated_fmap(p_yx: Tensor<2>, evecs_x: Tensor<2>, evecs_trans_y: Tensor<2>) -> Tensor<2> {
    evecs_trans_y.matmul(p_yx.matmul(evecs_x))
}

/// Point map y → x of a functional map `c_xy` `[K, K]`: nearest neighbour of each row of
/// `Φy` `[Vy, K]` among the rows of `Φx C_xyᵀ` `[Vx, K]`. Returns `[Vy]`.
pub fn fmap_to_pointmap(c_xy: Tensor<2>, evecs_x: Tensor<2>, evecs_y: Tensor<2>) -> Tensor<1, Int> {
    let mapped = evecs_x.matmul(c_xy.transpose()); // [Vx, K]
    let vy = evecs_y.dims()[0];
    let sq_x = mapped.clone().powi_scalar(2).sum_dim(1).transpose(); // [1, Vx]
    let d = sq_x - evecs_y.matmul(mapped.transpose()).mul_scalar(2.0); // [Vy, Vx], minus ‖φy‖²
    d.argmin(1).reshape([vy])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn soft_permutation_is_row_stochastic_and_sharp_for_matching_features() {
        let device = Device::flex();
        let f = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 0.7, 0.7], [3, 2]),
            &device,
        );
        let p = soft_permutation(f.clone(), f.clone(), 0.07)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for r in 0..3 {
            assert!((p[3 * r..3 * r + 3].iter().sum::<f32>() - 1.0).abs() < 1e-5);
            let argmax = (0..3)
                .max_by(|&a, &b| p[3 * r + a].total_cmp(&p[3 * r + b]))
                .unwrap();
            assert_eq!(argmax, r);
        }
        // closed form of entry (0, 2): cos = 1/√2 against cos = 1 and 0
        let e = |c: f64| (c / 0.07).exp();
        let want = e(0.5f64.sqrt()) / (e(1.0) + e(0.0) + e(0.5f64.sqrt()));
        assert!((p[2] as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn identity_fmap_gives_the_identity_point_map() {
        let device = Device::flex();
        let phi = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 0.3, 1.0, -0.8, 1.0, 0.9, 1.0, -0.1], [4, 2]),
            &device,
        );
        let p2p = fmap_to_pointmap(Tensor::eye(2, &device), phi.clone(), phi)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(p2p, vec![0, 1, 2, 3]);
    }
}
