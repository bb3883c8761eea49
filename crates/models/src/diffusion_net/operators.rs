//! The per-mesh operators DiffusionNet and the functional maps read, as tensors.
//!
//! ```text
//! to_basis(f)   = Φᵀ M f      [K, C]     (official `to_basis`)
//! from_basis(c) = Φ c         [V, C]     (official `from_basis`)
//! grad(f)       = (Gx f, Gy f)            Gx, Gy padded rows [V, W]
//! ```

use burn::tensor::{Device, Int, Tensor, TensorData};
use datasets::geometry::SpectralOperators;

/// Mass, eigenbasis, pseudo-inverse and gradient operator of one mesh on a device.
#[derive(Debug, Clone)]
pub struct MeshOperators {
    /// Lumped mass `[V]`.
    pub mass: Tensor<1>,
    /// Eigenvalues `[K]`.
    pub evals: Tensor<1>,
    /// Eigenvectors `[V, K]`.
    pub evecs: Tensor<2>,
    /// Pseudo-inverse `Φᵀ M` `[K, V]`.
    pub evecs_trans: Tensor<2>,
    /// Gradient row indices, flattened `[V·W]`.
    pub grad_indices: Tensor<1, Int>,
    /// Gradient x-weights `[V, W]`.
    pub grad_x: Tensor<2>,
    /// Gradient y-weights `[V, W]`.
    pub grad_y: Tensor<2>,
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

impl MeshOperators {
    /// Uploads the first `k` eigenpairs (all when `k` exceeds K) and the gradient operator.
    pub fn new(ops: &SpectralOperators, k: usize, device: &Device) -> Self {
        let basis = ops.basis.truncate(k);
        let (v, k) = (basis.num_vertices, basis.k());
        let w = ops.gradient.width;
        let t2 = |data: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(data, shape), device)
        };
        Self {
            mass: Tensor::from_data(TensorData::new(f32s(&ops.mass), [v]), device),
            evals: Tensor::from_data(TensorData::new(f32s(&basis.evals), [k]), device),
            evecs: t2(f32s(&basis.evecs), [v, k]),
            evecs_trans: t2(f32s(&basis.pseudo_inverse(&ops.mass)), [k, v]),
            grad_indices: Tensor::from_data(
                TensorData::new(
                    ops.gradient
                        .indices
                        .iter()
                        .map(|&i| i as i64)
                        .collect::<Vec<_>>(),
                    [v * w],
                ),
                device,
            ),
            grad_x: t2(f32s(&ops.gradient.x), [v, w]),
            grad_y: t2(f32s(&ops.gradient.y), [v, w]),
        }
    }

    /// Number of vertices V.
    pub fn num_vertices(&self) -> usize {
        self.mass.dims()[0]
    }

    /// Number of eigenpairs K.
    pub fn k(&self) -> usize {
        self.evals.dims()[0]
    }

    /// The same mesh with only the first `k` eigenpairs.
    pub fn truncate(&self, k: usize) -> Self {
        let k = k.min(self.k());
        Self {
            evals: self.evals.clone().narrow(0, 0, k),
            evecs: self.evecs.clone().narrow(1, 0, k),
            evecs_trans: self.evecs_trans.clone().narrow(0, 0, k),
            ..self.clone()
        }
    }

    /// Spectral coefficients `Φᵀ M f`.
    ///
    /// # Shapes
    /// `f` `[V, C]` → `[K, C]`.
    pub fn to_basis(&self, f: Tensor<2>) -> Tensor<2> {
        self.evecs_trans.clone().matmul(f)
    }

    /// Back to vertices: `Φ c`, `[K, C]` → `[V, C]`.
    pub fn from_basis(&self, c: Tensor<2>) -> Tensor<2> {
        self.evecs.clone().matmul(c)
    }

    /// The tangent gradient `(Gx f, Gy f)` of every channel.
    ///
    /// # Shapes
    /// `f` `[V, C]` → two `[V, C]`.
    pub fn gradient(&self, f: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [v, c] = f.dims();
        let w = self.grad_x.dims()[1];
        let gathered = f.select(0, self.grad_indices.clone()).reshape([v, w, c]); // [V, W, C]
        let apply = |weights: &Tensor<2>| {
            (gathered.clone() * weights.clone().unsqueeze_dim::<3>(2))
                .sum_dim(1)
                .reshape([v, c])
        };
        (apply(&self.grad_x), apply(&self.grad_y))
    }
}
