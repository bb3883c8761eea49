//! The regularised functional-map solver (official `RegularizedFMNet.compute_functional_map`,
//! DPFM/ULRSSM; `lmbda=100`, `resolvant_gamma=0.5`).
//!
//! ```text
//! A = Φxᵀ Mx Fx   [K, C],     B = Φyᵀ My Fy   [K, C],    D = resolvent mask [K, K]
//! for each row i:   (A Aᵀ + λ diag(D_i,:)) c_i = A B_i,:ᵀ ,     C_xy[i, :] = c_iᵀ
//! ```
//! Burn has no batched linear solve, so the K systems are solved on the host in f64 (LU),
//! and put back into the graph with the implicit-function identity
//!
//! ```text
//! c = c₀ − P (S c₀ − b),     c₀ = S⁻¹ b,  P = S⁻¹  (both constants)
//! ```
//! whose value is c₀ (S c₀ = b) and whose derivative is exactly that of S⁻¹ b:
//! `dc = S⁻¹ (db − dS c₀)`. [`regularized_fmap_reference`] is the plain f64 twin.

use burn::tensor::{Device, Tensor, TensorData};
use nalgebra::{DMatrix, DVector};

use super::resolvent::resolvent_mask;

/// Official `lmbda=100` (`networks/fmap_network.py`, `RegularizedFMNet.__init__`).
pub const FMAP_LAMBDA: f64 = 100.0;
/// Official `resolvant_gamma=0.5`.
pub const FMAP_GAMMA: f64 = 0.5;

/// The functional map `C_xy` `[K, K]` from features of both meshes, differentiable in the
/// features (and in the pseudo-inverses, if they carry gradients).
///
/// # Shapes
/// `feat_x` `[Vx, C]`, `feat_y` `[Vy, C]`, `evecs_trans_x` `[K, Vx]`, `evecs_trans_y`
/// `[K, Vy]`, `evals_x`, `evals_y` `[K]` (host values) → `[K, K]` (rows: y basis).
#[allow(clippy::too_many_arguments)] // the inputs of the math, each named in the doc
pub fn regularized_fmap(
    feat_x: Tensor<2>,
    feat_y: Tensor<2>,
    evals_x: &[f64],
    evals_y: &[f64],
    evecs_trans_x: Tensor<2>,
    evecs_trans_y: Tensor<2>,
    lambda: f64,
    gamma: f64,
) -> Tensor<2> {
    let device = feat_x.device();
    let k = evals_x.len();
    assert_eq!(
        evals_y.len(),
        k,
        "both meshes need the same number of eigenpairs"
    );
    let a = evecs_trans_x.matmul(feat_x); // [K, C]
    let b = evecs_trans_y.matmul(feat_y); // [K, C]
    let aat = a.clone().matmul(a.clone().transpose()); // [K, K]
    let bat = b.matmul(a.transpose()); // [K, K]; row i is the right-hand side of system i
    let mask = resolvent_mask(evals_x, evals_y, gamma);
    let mask_t = tensor2(&mask, [k, k], &device);
    let eye = Tensor::<2>::eye(k, &device);
    // S_i = AAᵀ + λ diag(D_i,:)  →  [K, K, K]
    let systems = aat.unsqueeze_dim::<3>(0).repeat_dim(0, k)
        + (mask_t.unsqueeze_dim::<3>(2) * eye.unsqueeze_dim::<3>(0)).mul_scalar(lambda);
    let rhs = bat.unsqueeze_dim::<3>(2); // [K, K, 1]
    let (c0, inverses) = host_solve(&systems, &rhs, k);
    let c0 = Tensor::<3>::from_data(TensorData::new(c0, [k, k, 1]), &device);
    let inverses = Tensor::<3>::from_data(TensorData::new(inverses, [k, k, k]), &device);
    let residual = systems.matmul(c0.clone()) - rhs; // [K, K, 1], ≈ 0 in value
    (c0 - inverses.matmul(residual)).reshape([k, k])
}

fn tensor2(values: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(values.iter().map(|&v| v as f32).collect::<Vec<_>>(), shape),
        device,
    )
}

/// Solves the K systems on the host: `(c₀ [K, K, 1], S⁻¹ [K, K, K])` as f32.
fn host_solve(systems: &Tensor<3>, rhs: &Tensor<3>, k: usize) -> (Vec<f32>, Vec<f32>) {
    let s = systems
        .to_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64 systems");
    let r = rhs
        .to_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64 rhs");
    let mut c0 = Vec::with_capacity(k * k);
    let mut inv = Vec::with_capacity(k * k * k);
    for i in 0..k {
        let m = DMatrix::from_row_slice(k, k, &s[i * k * k..(i + 1) * k * k]);
        let lu = m.lu();
        let inverse = lu
            .try_inverse()
            .unwrap_or_else(|| DMatrix::from_element(k, k, f64::NAN));
        let rhs = DVector::from_row_slice(&r[i * k..(i + 1) * k]);
        let sol = &inverse * rhs;
        c0.extend(sol.iter().map(|&x| x as f32));
        for a in 0..k {
            for b in 0..k {
                inv.push(inverse[(a, b)] as f32);
            }
        }
    }
    (c0, inv)
}

/// The f64 reference of [`regularized_fmap`]: one dense solve per row.
///
/// # Shapes
/// `a` = Φxᵀ Mx Fx `[K, C]`, `b` = Φyᵀ My Fy `[K, C]` row-major → `[K, K]` row-major.
#[allow(clippy::too_many_arguments)] // the inputs of the math, each named in the doc
pub fn regularized_fmap_reference(
    a: &[f64],
    b: &[f64],
    k: usize,
    c: usize,
    evals_x: &[f64],
    evals_y: &[f64],
    lambda: f64,
    gamma: f64,
) -> Vec<f64> {
    let a = DMatrix::from_row_slice(k, c, a);
    let b = DMatrix::from_row_slice(k, c, b);
    let aat = &a * a.transpose();
    let bat = &b * a.transpose();
    let mask = resolvent_mask(evals_x, evals_y, gamma);
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        let mut s = aat.clone();
        for j in 0..k {
            s[(j, j)] += lambda * mask[i * k + j];
        }
        let rhs = bat.row(i).transpose();
        let sol = s.lu().solve(&rhs).expect("a regular system");
        for j in 0..k {
            out[i * k + j] = sol[j];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    struct Problem {
        k: usize,
        c: usize,
        vx: usize,
        vy: usize,
        fx: Vec<f64>,
        fy: Vec<f64>,
        px: Vec<f64>,
        py: Vec<f64>,
        ex: Vec<f64>,
        ey: Vec<f64>,
    }

    fn problem() -> Problem {
        let (k, c, vx, vy) = (6, 5, 9, 8);
        Problem {
            k,
            c,
            vx,
            vy,
            fx: lcg(vx * c, 1),
            fy: lcg(vy * c, 2),
            px: lcg(k * vx, 3),
            py: lcg(k * vy, 4),
            ex: (0..k).map(|i| (i * i) as f64 * 0.7).collect(),
            ey: (0..k)
                .map(|i| (i * i) as f64 * 0.75 + 0.1 * i as f64)
                .collect(),
        }
    }

    impl Problem {
        /// `regularized_fmap` of this problem with the given feature tensors.
        fn solve(&self, fx: Tensor<2>, fy: Tensor<2>, device: &Device) -> Tensor<2> {
            regularized_fmap(
                fx,
                fy,
                &self.ex,
                &self.ey,
                tensor2(&self.px, [self.k, self.vx], device),
                tensor2(&self.py, [self.k, self.vy], device),
                FMAP_LAMBDA,
                FMAP_GAMMA,
            )
        }
    }

    fn matmul(a: &[f64], b: &[f64], n: usize, m: usize, p: usize) -> Vec<f64> {
        let mut out = vec![0.0; n * p];
        for i in 0..n {
            for j in 0..p {
                out[i * p + j] = (0..m).map(|l| a[i * m + l] * b[l * p + j]).sum();
            }
        }
        out
    }

    fn reference(p: &Problem, fx: &[f64]) -> Vec<f64> {
        let a = matmul(&p.px, fx, p.k, p.vx, p.c);
        let b = matmul(&p.py, &p.fy, p.k, p.vy, p.c);
        regularized_fmap_reference(&a, &b, p.k, p.c, &p.ex, &p.ey, FMAP_LAMBDA, FMAP_GAMMA)
    }

    /// Forward equals the f64 reference, which equals the official code's numbers
    /// (`scripts/fixtures/fmap_solver.py`, a numpy transcription of
    /// `compute_functional_map` with `torch.inverse`).
    #[test]
    fn forward_matches_the_reference_and_the_official_fixture() {
        let p = problem();
        let device = Device::flex();
        let c = p
            .solve(
                tensor2(&p.fx, [p.vx, p.c], &device),
                tensor2(&p.fy, [p.vy, p.c], &device),
                &device,
            )
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let want = reference(&p, &p.fx);
        let fixture: [f64; 36] = include!("../../tests/data/fmap_solver_fixture.txt");
        let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
        for i in 0..36 {
            assert!((want[i] - fixture[i]).abs() < 1e-10 * scale.max(1.0), "{i}");
            assert!(
                (c[i] as f64 - want[i]).abs() < 1e-4 * scale,
                "{i}: {} vs {}",
                c[i],
                want[i]
            );
        }
    }

    /// Autodiff gradient of Σ W ⊙ C with respect to the source features equals central
    /// finite differences of the f64 reference.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = problem();
        let device = Device::flex().autodiff();
        let w = lcg(p.k * p.k, 9);
        let fx = tensor2(&p.fx, [p.vx, p.c], &device).require_grad();
        let fy = tensor2(&p.fy, [p.vy, p.c], &device).require_grad();
        let c = p.solve(fx.clone(), fy.clone(), &device);
        let loss = (c * tensor2(&w, [p.k, p.k], &device)).sum();
        let grads = loss.backward();
        let gx = fx
            .grad(&grads)
            .unwrap()
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        let objective =
            |f: &[f64]| -> f64 { reference(&p, f).iter().zip(&w).map(|(a, b)| a * b).sum() };
        let h = 1e-6;
        let gmax = gx.iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
        assert!(gmax > 1e-3, "the test needs a non-zero gradient");
        for i in 0..p.fx.len() {
            let (mut plus, mut minus) = (p.fx.clone(), p.fx.clone());
            plus[i] += h;
            minus[i] -= h;
            let fd = (objective(&plus) - objective(&minus)) / (2.0 * h);
            assert!(
                (gx[i] as f64 - fd).abs() < 2e-3 * gmax,
                "∂/∂fx[{i}]: autodiff {} vs fd {fd}",
                gx[i]
            );
        }
        // and the target features receive a gradient too
        assert!(fy.grad(&grads).is_some());
    }
}
