//! Fréchet Inception Distance and Inception Score, in f64.
//!
//! ```text
//! FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁ Σ₂)^{1/2}
//!       tr (Σ₁Σ₂)^{1/2} = Σᵢ √λᵢ(R Σ₂ R),  R = Σ₁^{1/2} (symmetric eigendecomposition)
//! IS  = exp( E_x KL(p(y|x) ‖ p(y)) ), mean ± population std over 10 splits,
//!       split k = images ⌊k·n/10⌋ .. ⌊(k+1)·n/10⌋ − 1
//! ```
//! The IS splits are those of the CV-SW code (khainb/CV-SW Generative_model/utils/
//! inception_score.py, `get_inception_score`: `preds[(i * n // splits):((i + 1) * n // splits)]`,
//! `np.mean(scores), np.std(scores)`); fewer images than splits is an error (an empty split
//! would make it NaN).
//! (Σ₁Σ₂ is similar to R Σ₂ R, which is symmetric positive semi-definite, so its square root's
//! trace is the sum of the square roots of R Σ₂ R's eigenvalues — the value scipy's `sqrtm` of
//! Σ₁Σ₂ gives pytorch-fid, without a non-symmetric matrix square root.) Linear algebra by
//! `nalgebra`. Covariances are unbiased (n − 1), like `numpy.cov`.

use std::path::Path;

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use npyz::WriterBuilder;

/// Mean and covariance of feature vectors, accumulated batch by batch.
#[derive(Debug, Clone)]
pub struct FeatureStats {
    /// Mean μ `[d]`.
    pub mu: DVector<f64>,
    /// Covariance Σ `[d, d]`.
    pub sigma: DMatrix<f64>,
}

/// Running sums for [`FeatureStats`].
#[derive(Debug, Clone)]
pub struct StatsAccumulator {
    n: usize,
    sum: DVector<f64>,
    outer: DMatrix<f64>,
}

impl StatsAccumulator {
    /// For `d`-dimensional features.
    pub fn new(d: usize) -> Self {
        Self {
            n: 0,
            sum: DVector::zeros(d),
            outer: DMatrix::zeros(d, d),
        }
    }

    /// Adds `rows` feature vectors stored row-major in `features` (`rows × d`).
    pub fn add(&mut self, features: &[f32]) {
        let d = self.sum.len();
        let rows = features.len() / d;
        let x = DMatrix::from_row_iterator(rows, d, features.iter().map(|&v| v as f64));
        self.sum += x.row_sum().transpose();
        self.outer += x.transpose() * &x;
        self.n += rows;
    }

    /// Number of vectors added.
    pub fn count(&self) -> usize {
        self.n
    }

    /// μ and the unbiased Σ (needs at least two vectors).
    pub fn finish(&self) -> Option<FeatureStats> {
        (self.n >= 2).then(|| {
            let n = self.n as f64;
            let mu = &self.sum / n;
            let sigma = (&self.outer - &mu * mu.transpose() * n) / (n - 1.0);
            FeatureStats { mu, sigma }
        })
    }
}

impl FeatureStats {
    /// Reads reference statistics in the TTUR / pytorch-fid `.npz` format (`mu` `[d]`,
    /// `sigma` `[d, d]`, float32 or float64).
    pub fn from_npz(path: &Path) -> Result<Self, datasets::DataError> {
        let (mu, mu_shape) = datasets::npy::read_npz_f64(path, "mu")?;
        let (sigma, sigma_shape) = datasets::npy::read_npz_f64(path, "sigma")?;
        let d = mu.len();
        if mu_shape.len() != 1 || sigma_shape != [d as u64, d as u64] {
            return Err(datasets::DataError::format(
                path,
                format!(
                    "expected mu of shape (d,) and sigma (d, d); got {mu_shape:?} and {sigma_shape:?}"
                ),
            ));
        }
        Ok(Self {
            mu: DVector::from_vec(mu),
            sigma: DMatrix::from_row_slice(d, d, &sigma),
        })
    }

    /// Writes `mu` and `sigma` (float64) as a `.npz` archive readable by pytorch-fid.
    pub fn to_npz(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut npz = npyz::npz::NpzWriter::new(std::io::BufWriter::new(file));
        let d = self.mu.len() as u64;
        let mut w = npz
            .array("mu", Default::default())?
            .default_dtype()
            .shape(&[d])
            .begin_nd()?;
        w.extend(self.mu.iter().copied())?;
        w.finish()?;
        let mut w = npz
            .array("sigma", Default::default())?
            .default_dtype()
            .shape(&[d, d])
            .begin_nd()?;
        // Σ is symmetric: row-major equals column-major.
        w.extend(self.sigma.iter().copied())?;
        w.finish()?;
        Ok(())
    }
}

/// The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    let diff = &a.mu - &b.mu;
    let eig = SymmetricEigen::new(a.sigma.clone());
    let sqrt_values = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    let r = &eig.eigenvectors * DMatrix::from_diagonal(&sqrt_values) * eig.eigenvectors.transpose();
    let m = &r * &b.sigma * &r;
    let m = (&m + m.transpose()) * 0.5;
    let tr_sqrt: f64 = SymmetricEigen::new(m)
        .eigenvalues
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum();
    diff.dot(&diff) + a.sigma.trace() + b.sigma.trace() - 2.0 * tr_sqrt
}

/// Why an Inception Score cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// Fewer images than splits: some split would be empty.
    #[error(
        "the Inception Score over {splits} splits needs at least {splits} images, got {images}"
    )]
    TooFewImages {
        /// Images given.
        images: usize,
        /// Splits asked for.
        splits: usize,
    },
}

/// Inception Score of `logits` (`n × classes`, row-major): mean and population std of
/// exp(mean KL(p(y|x) ‖ p(y))) over `splits` parts with the CV-SW code's boundaries
/// ⌊k·n/splits⌋ (see the module doc).
///
/// # Errors
/// [`ScoreError::TooFewImages`] when n < `splits`.
pub fn inception_score(
    logits: &[f64],
    classes: usize,
    splits: usize,
) -> Result<(f64, f64), ScoreError> {
    let n = logits.len() / classes;
    if n < splits.max(1) {
        return Err(ScoreError::TooFewImages { images: n, splits });
    }
    let probs: Vec<Vec<f64>> = logits
        .chunks(classes)
        .map(|row| {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|&v| (v - max).exp()).collect();
            let z: f64 = e.iter().sum();
            e.into_iter().map(|v| v / z).collect()
        })
        .collect();
    let mut scores = Vec::with_capacity(splits);
    for k in 0..splits {
        let part = &probs[k * n / splits..(k + 1) * n / splits];
        let len = part.len() as f64;
        let py: Vec<f64> = (0..classes)
            .map(|c| part.iter().map(|p| p[c]).sum::<f64>() / len)
            .collect();
        let kl = part
            .iter()
            .map(|p| {
                p.iter()
                    .zip(&py)
                    .filter(|(pc, _)| **pc > 0.0)
                    .map(|(pc, qc)| pc * (pc.ln() - qc.ln()))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / len;
        scores.push(kl.exp());
    }
    let mean = scores.iter().sum::<f64>() / splits as f64;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / splits as f64;
    Ok((mean, var.sqrt()))
}
