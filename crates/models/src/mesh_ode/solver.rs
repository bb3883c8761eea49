//! Fixed-step ODE solvers over t ∈ [0, 1], differentiable through every step (Burn has no ODE
//! solver; these are the two classic schemes, written on tensors).
//!
//! ```text
//! dx/dt = f(x, t),  h = 1/steps,  t_i = i h
//! Euler  x_{i+1} = x_i + h f(x_i, t_i)
//! RK4    k₁ = f(x_i, t_i), k₂ = f(x_i + h/2 k₁, t_i + h/2), k₃ = f(x_i + h/2 k₂, t_i + h/2),
//!        k₄ = f(x_i + h k₃, t_i + h),  x_{i+1} = x_i + h/6 (k₁ + 2k₂ + 2k₃ + k₄)
//! ```

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The integration scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OdeMethod {
    /// Forward Euler, first order.
    Euler,
    /// Classic Runge–Kutta, fourth order.
    #[default]
    Rk4,
}

/// Integrates `dx/dt = field(x, t)` from t = 0 to 1 in `steps` fixed steps.
///
/// # Shapes
/// `x0: [N, D]`, `field: ([N, D], t) → [N, D]`, result `[N, D]`.
pub fn integrate<const D: usize>(
    x0: Tensor<D>,
    steps: usize,
    method: OdeMethod,
    field: impl Fn(Tensor<D>, f64) -> Tensor<D>,
) -> Tensor<D> {
    let steps = steps.max(1);
    let h = 1.0 / steps as f64;
    let mut x = x0;
    for i in 0..steps {
        let t = i as f64 * h;
        x = match method {
            OdeMethod::Euler => x.clone() + field(x, t).mul_scalar(h),
            OdeMethod::Rk4 => {
                let k1 = field(x.clone(), t);
                let k2 = field(x.clone() + k1.clone().mul_scalar(h / 2.0), t + h / 2.0);
                let k3 = field(x.clone() + k2.clone().mul_scalar(h / 2.0), t + h / 2.0);
                let k4 = field(x.clone() + k3.clone().mul_scalar(h), t + h);
                x + (k1 + k2.mul_scalar(2.0) + k3.mul_scalar(2.0) + k4).mul_scalar(h / 6.0)
            }
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{DType, Device, TensorData};

    /// A = [[−½, −2], [2, −½]]: exp(tA) = e^{−t/2} R(2t), a damped rotation.
    fn linear_field(x: Tensor<2>, _t: f64) -> Tensor<2> {
        let a = Tensor::<2>::from_data(
            TensorData::new(vec![-0.5f64, 2.0, -2.0, -0.5], [2, 2]),
            (&x.device(), x.dtype()),
        );
        x.matmul(a) // rows are points: x Aᵀ
    }

    fn exact(p: [f64; 2]) -> [f64; 2] {
        let (c, s, d) = (2f64.cos(), 2f64.sin(), (-0.5f64).exp());
        [d * (c * p[0] - s * p[1]), d * (s * p[0] + c * p[1])]
    }

    fn points(device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(vec![1.0f64, 0.0, 0.3, -0.7, -2.0, 0.5], [3, 2]),
            (device, DType::F64),
        )
    }

    #[test]
    fn rk4_matches_the_matrix_exponential_and_euler_is_first_order() {
        let device = Device::default();
        let out: Vec<f64> = integrate(points(&device), 50, OdeMethod::Rk4, linear_field)
            .into_data()
            .try_to_vec()
            .unwrap();
        let start = [[1.0, 0.0], [0.3, -0.7], [-2.0, 0.5]];
        let mut worst = 0f64;
        for (k, p) in start.iter().enumerate() {
            let e = exact(*p);
            worst = worst
                .max((out[2 * k] - e[0]).abs())
                .max((out[2 * k + 1] - e[1]).abs());
        }
        assert!(worst < 1e-6, "RK4 error {worst}");
        let err = |steps| {
            let o: Vec<f64> = integrate(points(&device), steps, OdeMethod::Euler, linear_field)
                .into_data()
                .try_to_vec()
                .unwrap();
            let e = exact(start[0]);
            (o[0] - e[0]).hypot(o[1] - e[1])
        };
        let ratio = err(200) / err(400);
        assert!(
            (ratio - 2.0).abs() < 0.1,
            "Euler error ratio {ratio} when halving h"
        );
    }

    #[test]
    fn zero_field_is_the_identity_and_gradients_flow_through_the_solver() {
        let device = Device::default().autodiff();
        let x0 = points(&device).require_grad();
        let same: Vec<f64> = integrate(x0.clone(), 10, OdeMethod::Rk4, |x, _| x.zeros_like())
            .into_data()
            .try_to_vec()
            .unwrap();
        let orig: Vec<f64> = x0.to_data().try_to_vec().unwrap();
        assert_eq!(same, orig);
        // d/dx0 Σ x(1) = 1ᵀ exp(A)ᵀ applied per point: each row gets (Σ_i exp(A)_{i0}, Σ_i exp(A)_{i1}).
        let out = integrate(x0.clone(), 50, OdeMethod::Rk4, linear_field).sum();
        let g: Vec<f64> = x0
            .grad(&out.backward())
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let (c, s, d) = (2f64.cos(), 2f64.sin(), (-0.5f64).exp());
        let want = [d * (c + s), d * (c - s)];
        for row in g.chunks_exact(2) {
            assert!(
                (row[0] - want[0]).abs() < 1e-6 && (row[1] - want[1]).abs() < 1e-6,
                "{row:?} vs {want:?}"
            );
        }
    }
}
