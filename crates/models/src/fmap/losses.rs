//! SURFMNet regularisers of functional maps (official `losses/fmap_loss.py`:
//! `SquaredFrobeniusLoss`, `SURFMNetLoss`).
//!
//! ```text
//! ‖A − B‖²_F                                                      (squared Frobenius)
//! bij  = ‖C₁₂C₂₁ − I‖² + ‖C₂₁C₁₂ − I‖²
//! orth = ‖C₁₂ᵀC₁₂ − I‖² + ‖C₂₁ᵀC₂₁ − I‖²
//! lap  = ‖C₁₂ Λ₁ − Λ₂ C₁₂‖² + ‖C₂₁ Λ₂ − Λ₁ C₂₁‖²
//! loss = w_bij bij + w_orth orth + w_lap lap
//! ```
//! Official FAUST weights (`options/train/faust.yaml`): `w_bij 1.0`, `w_orth 1.0`, `w_lap 0.0`.

use burn::tensor::{Device, Tensor, TensorData};

/// Weights of the three SURFMNet terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfmnetWeights {
    /// Bijectivity (official FAUST 1.0).
    pub bijectivity: f64,
    /// Orthogonality (official FAUST 1.0).
    pub orthogonality: f64,
    /// Laplacian commutativity (official FAUST 0.0).
    pub laplacian: f64,
}

impl Default for SurfmnetWeights {
    /// `options/train/faust.yaml`: `w_bij: 1.0, w_orth: 1.0, w_lap: 0.0`.
    fn default() -> Self {
        Self {
            bijectivity: 1.0,
            orthogonality: 1.0,
            laplacian: 0.0,
        }
    }
}

/// `‖a − b‖²_F` as a `[1]` tensor.
pub fn squared_frobenius(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    (a - b).powi_scalar(2).sum()
}

/// The weighted SURFMNet loss `[1]` of the maps `c12`, `c21` `[K, K]`, with the eigenvalues
/// `evals_1`, `evals_2` `[K]` of the two meshes (host values).
pub fn surfmnet_loss(
    c12: Tensor<2>,
    c21: Tensor<2>,
    evals_1: &[f64],
    evals_2: &[f64],
    weights: SurfmnetWeights,
) -> Tensor<1> {
    let device = c12.device();
    let k = c12.dims()[0];
    let eye = Tensor::<2>::eye(k, &device);
    let mut loss = Tensor::<1>::zeros([1], &device);
    if weights.bijectivity > 0.0 {
        let bij = squared_frobenius(c12.clone().matmul(c21.clone()), eye.clone())
            + squared_frobenius(c21.clone().matmul(c12.clone()), eye.clone());
        loss = loss + bij.mul_scalar(weights.bijectivity);
    }
    if weights.orthogonality > 0.0 {
        let orth = squared_frobenius(c12.clone().transpose().matmul(c12.clone()), eye.clone())
            + squared_frobenius(c21.clone().transpose().matmul(c21.clone()), eye);
        loss = loss + orth.mul_scalar(weights.orthogonality);
    }
    if weights.laplacian > 0.0 {
        let l1 = row(evals_1, &device);
        let l2 = row(evals_2, &device);
        let lap = squared_frobenius(c12.clone() * l1.clone(), l2.clone().transpose() * c12)
            + squared_frobenius(c21.clone() * l2, l1.transpose() * c21);
        loss = loss + lap.mul_scalar(weights.laplacian);
    }
    loss
}

fn row(values: &[f64], device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(
            values.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            [1, values.len()],
        ),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], k: usize) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [k, k]), &Device::flex())
    }

    fn value(x: Tensor<1>) -> f64 {
        x.into_scalar::<f32>() as f64
    }

    #[test]
    fn a_rotation_and_its_inverse_cost_nothing_and_a_scaling_costs_its_closed_form() {
        let (c, s) = (0.6f32, 0.8f32);
        let r = t(&[c, -s, s, c], 2);
        let all = SurfmnetWeights {
            bijectivity: 1.0,
            orthogonality: 1.0,
            laplacian: 1.0,
        };
        // equal eigenvalues: a rotation commutes with Λ = diag(1, 1)
        let z = value(surfmnet_loss(
            r.clone(),
            r.clone().transpose(),
            &[1.0, 1.0],
            &[1.0, 1.0],
            all,
        ));
        assert!(z.abs() < 1e-10);
        // C12 = diag(2, 1), C21 = I: bij = 2·(2−1)² = 2; orth = (4−1)² + 0 = 9
        let c12 = t(&[2.0, 0.0, 0.0, 1.0], 2);
        let c21 = t(&[1.0, 0.0, 0.0, 1.0], 2);
        let w = SurfmnetWeights::default();
        assert!(
            (value(surfmnet_loss(
                c12.clone(),
                c21.clone(),
                &[0.0, 1.0],
                &[0.0, 1.0],
                w
            )) - 11.0)
                .abs()
                < 1e-5
        );
        // Laplacian term: C12 = [[0,1],[1,0]] swaps λ = (0, 1) and (0, 1):
        // (C Λ₁ − Λ₂ C) = [[0,1],[−1,0]] → 2, twice (C21 the same) → 4
        let swap = t(&[0.0, 1.0, 1.0, 0.0], 2);
        let lap_only = SurfmnetWeights {
            bijectivity: 0.0,
            orthogonality: 0.0,
            laplacian: 1.0,
        };
        assert!(
            (value(surfmnet_loss(
                swap.clone(),
                swap,
                &[0.0, 1.0],
                &[0.0, 1.0],
                lap_only
            )) - 4.0)
                .abs()
                < 1e-6
        );
    }
}
