//! Wave-kernel signatures (Aubry et al. 2011) with the official automatic energy scales and
//! normalisation (EOT-Correspondence `utils/geometry_util.py`: `compute_wks_autoscale`,
//! `auto_wks`, `wks`; DiffusionNet input `input_type: wks`, `in_channels: 128`).
//!
//! ```text
//! λ sorted ascending (|λ|);  e_min = log λ_1,  e_max = log λ_{K−1}   (λ_0 ≈ 0 skipped)
//! σ = 7 (e_max − e_min) / T;   e_min += 2σ;   e_max −= 2σ;   e_t = linspace(e_min, e_max, T)
//! c_tk = exp(−(e_t − log λ_k)² / (2σ²))                  over k with λ_k > 1e-5
//! WKS_it = Σ_k φ_ik² c_tk / Σ_k c_tk                      (scaled = True)
//! WKS_it ← WKS_it / sqrt(Σ_i m_i WKS_it²)                 (unit M-norm per descriptor)
//! ```
//! Official defaults: T = `n_descr` = 128 descriptors from the first `n_eig` = 128 eigenpairs.

use super::dense_eigen::Eigenbasis;
use crate::error::{DataError, Result};

/// Official number of descriptors and of eigenpairs they use (`compute_wks_autoscale`).
pub const WKS_COUNT: usize = 128;
/// Eigenvalues at or below this are dropped (official `evals > 1e-5`).
const EVAL_FLOOR: f64 = 1e-5;

/// WKS descriptors `[V, count]` row-major from the first `min(K, 128)` eigenpairs.
///
/// # Shapes
/// `basis` evals `[K]`, evecs `[V, K]`; `mass` `[V]` → `[V, count]`.
pub fn wave_kernel_signature(basis: &Eigenbasis, mass: &[f64], count: usize) -> Result<Vec<f64>> {
    let basis = basis.truncate(WKS_COUNT);
    let (v, k) = (basis.num_vertices, basis.k());
    if k < 3 || count == 0 {
        return Err(DataError::Invalid(format!(
            "WKS needs at least 3 eigenpairs and 1 descriptor, got {k} and {count}"
        )));
    }
    let mut abs_ev: Vec<f64> = basis.evals.iter().map(|e| e.abs()).collect();
    abs_ev.sort_by(f64::total_cmp);
    let (mut e_min, mut e_max) = (abs_ev[1].ln(), abs_ev[k - 1].ln());
    let sigma = 7.0 * (e_max - e_min) / count as f64;
    if !(sigma > 0.0) {
        return Err(DataError::Invalid(format!(
            "WKS: the eigenvalues span no energy range (λ_1 = {}, λ_max = {})",
            abs_ev[1],
            abs_ev[k - 1]
        )));
    }
    e_min += 2.0 * sigma;
    e_max -= 2.0 * sigma;
    let energies: Vec<f64> = (0..count)
        .map(|t| {
            if count == 1 {
                e_min
            } else {
                e_min + (e_max - e_min) * t as f64 / (count - 1) as f64
            }
        })
        .collect();
    let kept: Vec<usize> = (0..k).filter(|&j| abs_ev[j] > EVAL_FLOOR).collect();
    // coefs [T, kept]
    let coefs: Vec<Vec<f64>> = energies
        .iter()
        .map(|&e| {
            kept.iter()
                .map(|&j| (-(e - abs_ev[j].ln()).powi(2) / (2.0 * sigma * sigma)).exp())
                .collect()
        })
        .collect();
    let mut out = vec![0.0; v * count];
    for (t, c) in coefs.iter().enumerate() {
        let scale: f64 = c.iter().sum();
        for i in 0..v {
            let s: f64 = kept
                .iter()
                .zip(c)
                .map(|(&j, w)| basis.evecs[i * k + j].powi(2) * w)
                .sum();
            out[i * count + t] = s / scale;
        }
    }
    for t in 0..count {
        let norm: f64 = (0..v)
            .map(|i| mass[i] * out[i * count + t].powi(2))
            .sum::<f64>()
            .sqrt();
        for i in 0..v {
            out[i * count + t] /= norm;
        }
    }
    if out.iter().any(|x| !x.is_finite()) {
        return Err(DataError::Invalid("WKS has a non-finite value".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{cotangent_laplacian, generalized_eigenpairs, lumped_mass};

    /// Independent fixture: `scripts/fixtures/wks.py` runs the official formulas in numpy on
    /// a hand-made 4-eigenpair basis; the numbers below are its output.
    #[test]
    fn matches_the_official_formula_on_a_small_basis() {
        let basis = Eigenbasis {
            evals: vec![0.0, 1.0, 2.5, 7.0],
            evecs: vec![
                0.5, 0.1, -0.3, 0.7, 0.5, -0.4, 0.2, 0.1, 0.5, 0.6, 0.9, -0.2,
            ],
            num_vertices: 3,
        };
        let mass = [0.3, 0.5, 0.2];
        let w = wave_kernel_signature(&basis, &mass, 3).unwrap();
        let want = include!("../../tests/data/wks_fixture.txt");
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{w:?} vs {want:?}");
        }
    }

    #[test]
    fn descriptors_have_unit_mass_norm_and_are_isometry_invariant() {
        let mesh = crate::synthetic_mesh::icosphere(2);
        let m = lumped_mass(&mesh).unwrap();
        // 36 = 1 + 3 + 5 + 7 + 9 + 11: whole eigenspaces l ≤ 5 (a cut inside a degenerate
        // eigenspace would make the descriptors depend on the basis chosen inside it)
        let b = generalized_eigenpairs(&cotangent_laplacian(&mesh).unwrap(), &m, 36).unwrap();
        let w = wave_kernel_signature(&b, &m, 16).unwrap();
        for t in 0..16 {
            let n: f64 = (0..mesh.num_vertices())
                .map(|i| m[i] * w[i * 16 + t].powi(2))
                .sum();
            assert!((n - 1.0).abs() < 1e-9);
        }
        // rotate the sphere: the descriptors are intrinsic, so they do not change
        let (c, s) = (0.6f32, 0.8f32);
        let mut rotated = mesh.clone();
        for p in rotated.vertices.chunks_exact_mut(3) {
            let (x, y) = (p[0], p[1]);
            p[0] = c * x - s * y;
            p[1] = s * x + c * y;
        }
        let mr = lumped_mass(&rotated).unwrap();
        let br = generalized_eigenpairs(&cotangent_laplacian(&rotated).unwrap(), &mr, 36).unwrap();
        let wr = wave_kernel_signature(&br, &mr, 16).unwrap();
        // eigenvectors of repeated eigenvalues rotate within their eigenspace; the WKS
        // sums φ² over whole eigenspaces only approximately (the band weights differ a
        // little inside a cluster), hence the tolerance
        let max_rel = w
            .iter()
            .zip(&wr)
            .map(|(a, b)| (a - b).abs() / a.abs().max(1e-3))
            .fold(0.0, f64::max);
        assert!(max_rel < 1e-3, "max relative change {max_rel}");
    }
}
