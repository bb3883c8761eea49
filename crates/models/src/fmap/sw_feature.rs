//! The OT loss of EOT-Correspondence: sliced Wasserstein between the source features and
//! the soft-permuted target features (official `losses/ot_loss.py`, class `SW`).
//!
//! ```text
//! Ŷ = P_xy F_y                                        [Vx, C]
//! SW_2(F_x, Ŷ) = ( (1/L) Σ_l W_2²(θ_l♯F_x, θ_l♯Ŷ) )^{1/2},   θ_l ~ Unif(S^{C−1})
//! bidirectional:  SW_2(F_x, P_xy F_y) + SW_2(P_yx F_x, F_y)   (the same L directions)
//! loss = w · SW
//! ```
//! Official `options/train/faust.yaml`: `type: SW, loss_weight: 100.0, L: 200,
//! bidirectional: false` (training); `adaptive_refinement_one.py`:
//! `SW(L=200, p=2, loss_weight=100., bidirectional=True)` with detached plans.
//! The official `one_dimensional_wasserstein_parallel` returns `(mean_l W_2²)^{1/2}`, so
//! each direction of the bidirectional form has its own square root.

use burn::tensor::Tensor;
use sw_loss::{BatchReduction, sw_pp_with_directions};
use sw_loss::{Directions, Measure, Result};

/// Official `L: 200`.
pub const SW_FEATURE_PROJECTIONS: usize = 200;
/// Official `loss_weight: 100.0`.
pub const SW_FEATURE_WEIGHT: f64 = 100.0;

/// `w · SW_2` between `feat_x` `[Vx, C]` and `p_xy feat_y`; with `p_yx` `[Vy, Vx]` the
/// bidirectional form. Fresh uniform directions from the device RNG each call.
pub fn sw_feature_loss(
    feat_x: Tensor<2>,
    feat_y: Tensor<2>,
    p_xy: Tensor<2>,
    p_yx: Option<Tensor<2>>,
    projections: usize,
    weight: f64,
) -> Result<Tensor<1>> {
    let c = feat_x.dims()[1];
    let device = feat_x.device();
    let directions = Directions::Shared(sw_loss::directions::uniform(projections, c, &device));
    let y_hat = p_xy.matmul(feat_y.clone());
    let forward = sw_pp_with_directions(
        &Measure::single(feat_x.clone()),
        &Measure::single(y_hat),
        &directions,
        2.0,
        BatchReduction::Mean,
    )?
    .sqrt();
    let total = match p_yx {
        Some(p_yx) => {
            let x_hat = p_yx.matmul(feat_x);
            forward
                + sw_pp_with_directions(
                    &Measure::single(x_hat),
                    &Measure::single(feat_y),
                    &directions,
                    2.0,
                    BatchReduction::Mean,
                )?
                .sqrt()
        }
        None => forward,
    };
    Ok(total.mul_scalar(weight))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// With the identity plan and one-dimensional features the loss is the exact W_2 of
    /// the two sorted samples (every direction is ±1), times the weight.
    #[test]
    fn one_dimensional_features_give_exact_w2() {
        let device = Device::flex();
        let x = [0.0f32, 1.0, 3.0, 7.0];
        let y = [2.0f32, -1.0, 4.0, 0.5];
        let t = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [4, 1]), &device);
        let loss = sw_feature_loss(t(&x), t(&y), Tensor::eye(4, &device), None, 7, 100.0)
            .unwrap()
            .into_scalar::<f32>() as f64;
        // sorted x: 0 1 3 7; sorted y: −1 0.5 2 4 → mean of squares
        let w2 = ((1.0f64 + 0.25 + 1.0 + 9.0) / 4.0).sqrt();
        assert!((loss - 100.0 * w2).abs() < 1e-3, "{loss} vs {}", 100.0 * w2);
        // bidirectional with the identity plans doubles it
        let both = sw_feature_loss(
            t(&x),
            t(&y),
            Tensor::eye(4, &device),
            Some(Tensor::eye(4, &device)),
            7,
            100.0,
        )
        .unwrap()
        .into_scalar::<f32>() as f64;
        assert!((both - 200.0 * w2).abs() < 2e-3);
        // identical clouds cost nothing
        let zero = sw_feature_loss(t(&x), t(&x), Tensor::eye(4, &device), None, 7, 100.0)
            .unwrap()
            .into_scalar::<f32>();
        assert!(zero.abs() < 1e-3);
    }
}
