//! A linear SVM equal to scikit-learn's `LinearSVC()` with its defaults, the latent-code
//! classifier of the SA-DSW paper (hsgser/Self-Amortized-DSW
//! classification/linear_svm_classification.py: `clf = LinearSVC()`).
//!
//! ```text
//! one-vs-rest: for each class c (one model only when there are two classes, positive =
//! the larger label), y_i = +1 if label_i = c else −1, x̃_i = [x_i, 1] (liblinear's bias
//! feature, intercept_scaling = 1, so the intercept is regularised too), and
//!   w̃_c = argmin ½‖w̃‖² + C Σ_i max(0, 1 − y_i w̃ᵀx̃_i)²        C = 1 (squared hinge, L2)
//! predict: argmax_c w̃_cᵀx̃  (two classes: the positive one iff w̃ᵀx̃ > 0)
//! ```
//! The primal is strongly convex, so its minimiser is unique and any solver run to convergence
//! gives liblinear's answer up to liblinear's tolerance (1e-4). We use Newton's method with the
//! generalised Hessian H = I + 2C Σ_{i∈I} x̃_i x̃_iᵀ over the active set I = {i: y_i w̃ᵀx̃_i < 1}
//! (Mangasarian 2002; liblinear's own primal solver is a trust-region Newton on the same
//! function) and a backtracking line search, until ‖∇‖ ≤ 1e-10·max(1, ‖∇₀‖).

use nalgebra::{DMatrix, DVector};
use thiserror::Error;

/// A fitting error.
#[derive(Debug, Error, PartialEq)]
pub enum SvmError {
    /// The feature matrix and labels disagree in size, or there is no data.
    #[error("linear SVM: {rows} labels for {values} feature values of dimension {dim}")]
    Shape {
        /// Number of labels.
        rows: usize,
        /// Number of feature values.
        values: usize,
        /// Feature dimension.
        dim: usize,
    },
    /// Only one class in the training labels.
    #[error("linear SVM: the training labels hold a single class ({0}); need at least two")]
    OneClass(u32),
    /// A feature is NaN or infinite.
    #[error("linear SVM: feature value {index} is not finite")]
    NotFinite {
        /// Index in the flat feature slice.
        index: usize,
    },
}

/// A fitted one-vs-rest linear SVM.
#[derive(Debug, Clone)]
pub struct LinearSvc {
    /// The sorted distinct training labels (sklearn's `classes_`).
    pub classes: Vec<u32>,
    /// One `[dim]` weight vector per model (sklearn's `coef_` rows).
    pub coef: Vec<Vec<f64>>,
    /// One intercept per model (sklearn's `intercept_`).
    pub intercept: Vec<f64>,
}

/// The regularisation constant of `LinearSVC()`'s default, C = 1.
pub const DEFAULT_C: f64 = 1.0;

impl LinearSvc {
    /// Fits on row-major features `x: [n, dim]` and `labels: [n]` with C.
    pub fn fit(x: &[f32], dim: usize, labels: &[u32], c: f64) -> Result<Self, SvmError> {
        let n = labels.len();
        if n == 0 || dim == 0 || x.len() != n * dim {
            return Err(SvmError::Shape {
                rows: n,
                values: x.len(),
                dim,
            });
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(SvmError::NotFinite { index });
        }
        let mut classes = labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return Err(SvmError::OneClass(classes[0]));
        }
        // x̃ = [x, 1]: [n, dim + 1].
        let xt = DMatrix::from_fn(n, dim + 1, |i, j| {
            if j < dim { x[i * dim + j] as f64 } else { 1.0 }
        });
        let positives: Vec<u32> = if classes.len() == 2 {
            vec![classes[1]]
        } else {
            classes.clone()
        };
        let (mut coef, mut intercept) = (Vec::new(), Vec::new());
        for &positive in &positives {
            let y = DVector::from_iterator(
                n,
                labels
                    .iter()
                    .map(|&l| if l == positive { 1.0 } else { -1.0 }),
            );
            let w = newton(&xt, &y, c);
            coef.push(w.as_slice()[..dim].to_vec());
            intercept.push(w[dim]);
        }
        Ok(Self {
            classes,
            coef,
            intercept,
        })
    }

    /// Decision values `[n, models]` of row-major `x: [n, dim]`.
    pub fn decision_function(&self, x: &[f32]) -> Vec<Vec<f64>> {
        let dim = self.coef[0].len();
        x.chunks_exact(dim)
            .map(|row| {
                self.coef
                    .iter()
                    .zip(&self.intercept)
                    .map(|(w, b)| w.iter().zip(row).map(|(w, &v)| w * v as f64).sum::<f64>() + b)
                    .collect()
            })
            .collect()
    }

    /// Predicted labels of row-major `x: [n, dim]`.
    pub fn predict(&self, x: &[f32]) -> Vec<u32> {
        self.decision_function(x)
            .into_iter()
            .map(|scores| {
                if self.classes.len() == 2 {
                    self.classes[usize::from(scores[0] > 0.0)]
                } else {
                    // First maximum, as numpy's argmax.
                    let mut best = 0;
                    for (k, s) in scores.iter().enumerate() {
                        if *s > scores[best] {
                            best = k;
                        }
                    }
                    self.classes[best]
                }
            })
            .collect()
    }

    /// Fraction of `labels` predicted right (sklearn's `score`).
    pub fn accuracy(&self, x: &[f32], labels: &[u32]) -> f64 {
        let hits = self
            .predict(x)
            .iter()
            .zip(labels)
            .filter(|(p, l)| p == l)
            .count();
        hits as f64 / labels.len().max(1) as f64
    }
}

/// f(w) = ½‖w‖² + C Σ_i max(0, 1 − y_i wᵀx_i)².
fn objective(xt: &DMatrix<f64>, y: &DVector<f64>, w: &DVector<f64>, c: f64) -> f64 {
    let margins = (xt * w).component_mul(y);
    0.5 * w.norm_squared()
        + c * margins
            .iter()
            .map(|m| (1.0 - m).max(0.0).powi(2))
            .sum::<f64>()
}

/// Newton's method with the generalised Hessian and backtracking (see the module doc).
fn newton(xt: &DMatrix<f64>, y: &DVector<f64>, c: f64) -> DVector<f64> {
    let d = xt.ncols();
    let mut w = DVector::<f64>::zeros(d);
    let mut first_norm = None;
    for _ in 0..200 {
        let margins = (xt * &w).component_mul(y);
        let active: Vec<usize> = (0..y.len()).filter(|&i| margins[i] < 1.0).collect();
        // ∇f = w − 2C Σ_I (1 − y_i wᵀx_i) y_i x_i
        let mut grad = w.clone();
        let xa = xt.select_rows(active.iter());
        let coeffs = DVector::from_iterator(
            active.len(),
            active.iter().map(|&i| (1.0 - margins[i]) * y[i]),
        );
        grad -= xa.tr_mul(&coeffs) * (2.0 * c);
        let norm = grad.norm();
        let first = *first_norm.get_or_insert(norm.max(1.0));
        if norm <= 1e-10 * first {
            break;
        }
        let hessian = DMatrix::<f64>::identity(d, d) + xa.tr_mul(&xa) * (2.0 * c);
        let step = match hessian.cholesky() {
            Some(ch) => ch.solve(&(-&grad)),
            None => -&grad,
        };
        let f0 = objective(xt, y, &w, c);
        let slope = grad.dot(&step);
        let mut t = 1.0;
        loop {
            let candidate = &w + &step * t;
            if objective(xt, y, &candidate, c) <= f0 + 1e-4 * t * slope || t < 1e-12 {
                w = candidate;
                break;
            }
            t *= 0.5;
        }
    }
    w
}
