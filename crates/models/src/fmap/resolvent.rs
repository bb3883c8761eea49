//! The resolvent mask of DPFM / ULRSSM (official `networks/fmap_network.py`, `_get_mask`).
//!
//! ```text
//! s = max(max λˣ, max λʸ);   a_j = (λˣ_j / s)^γ,   b_i = (λʸ_i / s)^γ
//! D_ij = ( b_i/(b_i²+1) − a_j/(a_j²+1) )² + ( 1/(b_i²+1) − 1/(a_j²+1) )²
//! ```
//! Rows i index the target (y) basis, columns j the source (x) basis. Shape `[K, K]`.

/// The mask `[Ky, Kx]` row-major.
pub fn resolvent_mask(evals_x: &[f64], evals_y: &[f64], gamma: f64) -> Vec<f64> {
    let s = evals_x
        .iter()
        .chain(evals_y)
        .fold(f64::NEG_INFINITY, |m, &e| m.max(e));
    let a: Vec<f64> = evals_x.iter().map(|e| (e / s).powf(gamma)).collect();
    let b: Vec<f64> = evals_y.iter().map(|e| (e / s).powf(gamma)).collect();
    let mut d = Vec::with_capacity(a.len() * b.len());
    for bi in &b {
        for aj in &a {
            let re = bi / (bi * bi + 1.0) - aj / (aj * aj + 1.0);
            let im = 1.0 / (bi * bi + 1.0) - 1.0 / (aj * aj + 1.0);
            d.push(re * re + im * im);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_vanishes_on_equal_frequencies_and_grows_off_diagonal() {
        let e = [0.0, 1.0, 4.0, 9.0];
        let d = resolvent_mask(&e, &e, 0.5);
        for i in 0..4 {
            assert!(d[i * 4 + i].abs() < 1e-15);
        }
        // |r(b) − r(a)|² with r(x) = (x + i)/(x² + 1) = 1/(x − i): closed form
        let (a, b) = ((1.0f64 / 9.0).sqrt(), (9.0f64 / 9.0).sqrt());
        let want = (1.0 / (b * b + 1.0) * b - a / (a * a + 1.0)).powi(2)
            + (1.0 / (b * b + 1.0) - 1.0 / (a * a + 1.0)).powi(2);
        assert!((d[3 * 4 + 1] - want).abs() < 1e-15);
        assert!(d[3 * 4] > d[3 * 4 + 2]);
    }
}
