//! The approximate EMD of the point-cloud papers' CUDA extension (`approxmatch`, Fan, Su &
//! Guibas, "A Point Set Generation Network for 3D Object Reconstruction from a Single Image",
//! CVPR 2017), on the CPU. This is the "EMD" column of the SA-DSW paper's tables
//! (hsgser/Self-Amortized-DSW loss/emd.py → metrics_from_point_flow/evaluation_metrics.py
//! `emd_approx` → pytorch_structural_losses/src/approxmatch.cu, `approxmatchkernel` and
//! `matchcostkernel`; loss/emd.py multiplies the per-point mean back by N, so the reported
//! value is the match cost itself).
//!
//! ```text
//! a [n, 3], b [n, 3];  d_kl = ‖a_k − b_l‖²;  remainL = remainR = 1;  match = 0
//! for j = 7, 6, …, −1:   s = −4^j,  e_kl = exp(s·d_kl)
//!   ratioL_k  = remainL_k / (1e-9 + Σ_l e_kl remainR_l)
//!   sumr_l    = remainR_l Σ_k e_kl ratioL_k
//!   ratioR_l  = min(remainR_l / (sumr_l + 1e-9), 1) · remainR_l;  remainR_l ← max(0, remainR_l − sumr_l)
//!   w_kl      = e_kl ratioL_k ratioR_l;  match_kl += w_kl;  remainL_k ← max(0, remainL_k − Σ_l w_kl)
//! cost = Σ_kl match_kl ‖a_k − b_l‖
//! ```
//! The loop of the CUDA source is `for (j = 7; j > -2; j--)`, so its `j == -2` (s = 0) branch
//! never runs and the last level is s = −1/4. `match` is a transport plan with row and column
//! sums ≤ 1; when it carries (almost) all the mass its cost is an upper bound of the exact
//! EMD, min_σ Σ_k ‖a_k − b_σ(k)‖ ([`sw_loss::exact_emd`]). Computed in f64 (the kernel uses
//! f32 and `__expf`; the difference is far below the reported digits).

use thiserror::Error;

/// A shape error of [`approx_match`].
#[derive(Debug, Error, PartialEq)]
#[error(
    "approx_match: expected two row-major [n, 3] clouds of equal size n ≥ 1, got {a} and {b} values"
)]
pub struct ApproxMatchShape {
    /// Length of the first slice.
    pub a: usize,
    /// Length of the second slice.
    pub b: usize,
}

/// The approximate matching's cost and how much mass it matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApproxMatch {
    /// Σ_kl match_kl ‖a_k − b_l‖: the paper's "EMD".
    pub cost: f64,
    /// Σ_kl match_kl (at most n).
    pub matched_mass: f64,
}

/// Runs the approximate matching between `a` and `b` (row-major `[n, 3]`, equal n: the
/// official `emd_approx` asserts N == N_ref).
pub fn approx_match(a: &[f32], b: &[f32]) -> Result<ApproxMatch, ApproxMatchShape> {
    if a.is_empty() || !a.len().is_multiple_of(3) || a.len() != b.len() {
        return Err(ApproxMatchShape {
            a: a.len(),
            b: b.len(),
        });
    }
    let n = a.len() / 3;
    let m = n;
    let sq: Vec<f64> = (0..n)
        .flat_map(|k| {
            (0..m).map(move |l| {
                (0..3)
                    .map(|c| (a[3 * k + c] as f64 - b[3 * l + c] as f64).powi(2))
                    .sum::<f64>()
            })
        })
        .collect(); // [n, m]
    let mut matched = vec![0f64; n * m];
    let (mut remain_l, mut remain_r) = (vec![1f64; n], vec![1f64; m]);
    let (mut ratio_l, mut ratio_r) = (vec![0f64; n], vec![0f64; m]);
    let mut e = vec![0f64; n * m];
    for j in (-1..=7).rev() {
        let level = -(4f64.powi(j));
        for (ek, dk) in e.iter_mut().zip(&sq) {
            *ek = (level * dk).exp();
        }
        for k in 0..n {
            let row = &e[k * m..(k + 1) * m];
            let sum: f64 = 1e-9 + row.iter().zip(&remain_r).map(|(w, r)| w * r).sum::<f64>();
            ratio_l[k] = remain_l[k] / sum;
        }
        let mut sumr = vec![0f64; m];
        for k in 0..n {
            let row = &e[k * m..(k + 1) * m];
            for (s, w) in sumr.iter_mut().zip(row) {
                *s += w * ratio_l[k];
            }
        }
        for l in 0..m {
            let s = sumr[l] * remain_r[l];
            let consumption = (remain_r[l] / (s + 1e-9)).min(1.0);
            ratio_r[l] = consumption * remain_r[l];
            remain_r[l] = (remain_r[l] - s).max(0.0);
        }
        for k in 0..n {
            let row = &e[k * m..(k + 1) * m];
            let out = &mut matched[k * m..(k + 1) * m];
            let mut sum = 0.0;
            for l in 0..m {
                let w = row[l] * ratio_l[k] * ratio_r[l];
                out[l] += w;
                sum += w;
            }
            remain_l[k] = (remain_l[k] - sum).max(0.0);
        }
    }
    Ok(ApproxMatch {
        cost: matched.iter().zip(&sq).map(|(w, d)| w * d.sqrt()).sum(),
        matched_mass: matched.iter().sum(),
    })
}
