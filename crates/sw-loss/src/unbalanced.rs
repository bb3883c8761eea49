//! Unbalanced sliced optimal transport with KL marginal penalties, as POT 0.9.7's
//! `ot.sliced_unbalanced_ot` (SUOT) and `ot.unbalanced_sliced_ot` (USOT)
//! (ot/unbalanced/_sliced.py lines 17 and 224; Bonet, Nadjahi, Séjourné, Fatras & Courty,
//! "Slicing Unbalanced Optimal Transport", TMLR 2025), with the 1-D Frank–Wolfe solver POT uses
//! (ot/unbalanced/_solver_1d.py `uot_1d`, line 136; Séjourné, Vialard & Peyré, AISTATS 2022).
//!
//! ```text
//! UOT_p^p(μ, ν)  = min_{π₁, π₂ ≥ 0} W_p^p(π₁, π₂) + ρ₁ KL(π₁ | μ) + ρ₂ KL(π₂ | ν)
//!                  with W_p^p(π₁, π₂) = m(π₁) · W_p^p(π₁ / m(π₁), π₂ / m(π₂)),  m(π) = Σ π
//!                  and KL(π | μ) = Σ π log(π / μ + 1e-16) + Σ (μ − π)   (POT's kl_div, mass=True)
//! SUOT_p^p(μ, ν) = 1/L Σ_l UOT_p^p(θ_l#μ, θ_l#ν)             one pair (π₁, π₂) per direction
//! USOT_p^p(μ, ν) = min_{π₁, π₂} SW_p^p(π₁, π₂) + ρ₁ KL(π₁ | μ) + ρ₂ KL(π₂ | ν)   one pair shared
//! ```
//! ρ = ∞ on a side keeps that marginal (semi-relaxed); ρ₁ = ρ₂ = ∞ is SW_p^p.
//!
//! **Solver** (POT's, step for step, in f64 on the host). Potentials f `[n]`, g `[m]` start at
//! 0; each of the `iterations` Frank–Wolfe steps (POT's `numItermax`, default 10, step
//! t = 2 / (2 + i)):
//! 1. translate (f, g) by the optimal λ of the translation-invariant dual (POT's
//!    `rescale_potentials`, _solver_1d.py line 15): λ = τ (log Σ μ e^{−f/ρ₁} − log Σ ν e^{−g/ρ₂}),
//!    τ = ρ₁ρ₂ / (ρ₁ + ρ₂) (τ = ρ₂, resp. ρ₁, with log Σ μ, resp. log Σ ν, on a side with ρ = ∞);
//!    f ← f + λ, g ← g − λ;
//! 2. reweight: π₁ = μ e^{−f/ρ₁}, π₂ = ν e^{−g/ρ₂}, each normalised to mass 1;
//! 3. the 1-D dual potentials (f̂, ĝ) of W_p^p(π₁, π₂) on each direction, as POT's
//!    `emd_1d_dual_backprop` (ot/lp/solver_1d.py line 469): the gradient in the weights of
//!    `wasserstein_1d`'s quantile formula (the private `dual_1d`), centred so that ⟨π₁, f̂⟩ = ⟨π₂, ĝ⟩
//!    (`center_ot_dual`, ot/lp/_network_simplex.py line 19);
//! 4. f ← f + t (f̂ − f), g ← g + t (ĝ − g) — SUOT per direction; USOT with f̂, ĝ averaged over
//!    the directions (one pair of potentials for all of them).
//!
//! After the last step, (f, g) are translated and the marginals reweighted once more; the value
//! is the transport term m(π₁) · W_p^p(π₁/m, π₂/m) on each direction plus the KL terms.
//!
//! **Gradients.** The value is differentiable in the points: the transport term is gathered on
//! the device from the projections with the final reweighted marginals (and the north-west-corner
//! coupling of each direction) held fixed, and the KL terms are constants. That is the gradient
//! POT's graph would carry (its potentials are detached), and by the envelope theorem the
//! gradient of UOT at convergence. POT itself cannot be differentiated here: with points that
//! require grad, `emd_1d_dual_backprop` calls `backward()` inside every Frank–Wolfe step and the
//! second step fails ("Trying to backward through the graph a second time"). The weights μ, ν
//! are not differentiated.
//!
//! **Labelled differences from POT 0.9.7:**
//! - semi-relaxed SUOT (exactly one ρ = ∞): POT adds the KL of the relaxed side summed over
//!   *all* directions to every direction's UOT (`nx.kl_div` without `axis=0`,
//!   _solver_1d.py lines 289 and 291), so the mean over directions counts it L times; ours
//!   adds each direction's own KL (as POT does when both ρ are finite);
//! - a zero weight contributes 0 to the KL here (POT: 0 · log(0/0 + 1e-16) = NaN);
//! - ties: where a cumulative weight of π₁ equals one of π₂ inside the merge, the 1-D potential
//!   is a subgradient and POT's choice follows `torch.sort`'s order of the tied entries; ours
//!   puts π₁'s first (a stable sort of [cdf₁, cdf₂], the order torch gives on CPU). Equal
//!   *final* cumulative weights (both 1) give the same centred potentials either way.
//!
//! Not converged at POT's default: 10 Frank–Wolfe steps leave the value a few percent above
//! the optimum on small problems (e.g. 0.302 at 10 steps against 0.274 at 2000 on a 7 × 10
//! pair); raise `iterations` for the optimum, keep 10 to match POT.
//!
//! # Shapes
//! one pair: points x `[n, d]`, y `[m, d]`, weights μ `[n]`, ν `[m]` (not normalised: their
//! masses matter; `None` is uniform with mass 1, as POT), directions `[L, d]` (unit rows; draw
//! them with [`crate::Directions`] or pass your own). Memory: the projections `[n, L]`, `[m, L]`
//! on the device and O((n + m) L) f64 on the host.

use burn::tensor::{Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::error::{Result, SwError};
use crate::measure::{check_p, check_pow_support};
use crate::plans::{
    SparsePlan, check_pair, host_projections, host_weights, north_west, stable_order,
};

/// POT's `numItermax` default for both functions (ot/unbalanced/_sliced.py lines 27 and 234).
pub const POT_ITERATIONS: usize = 10;
/// The ε POT's `kl_div` adds inside the log (ot/backend.py line 2592, the torch `kl_div`, eps = 1e-16).
const KL_EPS: f64 = 1e-16;

/// Options of [`sliced_unbalanced_ot`] and [`unbalanced_sliced_ot`].
///
/// Defaults (POT's): p = 2 (ot/unbalanced/_sliced.py lines 24 and 231), 10 Frank–Wolfe steps.
/// POT has no default ρ: it is required ([`UnbalancedOptions::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnbalancedOptions {
    /// ρ₁: KL penalty on the first marginal (> 0; `f64::INFINITY` keeps it).
    pub rho1: f64,
    /// ρ₂: KL penalty on the second marginal (> 0; `f64::INFINITY` keeps it).
    pub rho2: f64,
    /// The exponent p ≥ 1 of the 1-D cost |s − t|^p.
    pub p: f64,
    /// Frank–Wolfe steps (POT's `numItermax`).
    pub iterations: usize,
}

impl UnbalancedOptions {
    /// ρ₁ = ρ₁, ρ₂ = ρ₂, p = 2, [`POT_ITERATIONS`] steps (POT's `reg_m = (rho1, rho2)`).
    pub fn new(rho1: f64, rho2: f64) -> Self {
        Self {
            rho1,
            rho2,
            p: 2.0,
            iterations: POT_ITERATIONS,
        }
    }

    /// With exponent p.
    pub fn with_p(mut self, p: f64) -> Self {
        self.p = p;
        self
    }

    /// With this many Frank–Wolfe steps.
    pub fn with_iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    fn check(&self) -> Result<()> {
        check_p(self.p)?;
        for (name, rho) in [("rho1", self.rho1), ("rho2", self.rho2)] {
            if rho.is_nan() || rho <= 0.0 {
                return Err(SwError::InvalidParameter {
                    name,
                    message: format!("the KL penalty must be > 0 (or infinite), got {rho}"),
                });
            }
        }
        Ok(())
    }
}

/// SUOT: [`sliced_unbalanced_ot`]'s value and what POT's log holds.
#[derive(Debug, Clone)]
pub struct Suot {
    /// SUOT_p^p = mean of `per_direction` `[1]`, differentiable in the points.
    pub value: Tensor<1>,
    /// UOT_p^p of each direction `[L]` (transport + KL terms), differentiable in the points.
    pub per_direction: Tensor<1>,
    /// The transport term m_l · W_p^p of each direction `[L]` (POT's `linear_cost`), host.
    pub transport: Vec<f64>,
    /// Mass m_l of the reweighted marginals of each direction `[L]`.
    pub mass: Vec<f64>,
    /// π₁ of each direction `[L × n]`, row-major, in the points' order (mass m_l each).
    pub a_reweighted: Vec<f64>,
    /// π₂ of each direction `[L × m]`, row-major (mass m_l each).
    pub b_reweighted: Vec<f64>,
    /// The final potentials f `[L × n]` (after the last translation), row-major.
    pub f: Vec<f64>,
    /// The final potentials g `[L × m]`, row-major.
    pub g: Vec<f64>,
}

/// USOT: [`unbalanced_sliced_ot`]'s value and what POT returns and logs.
#[derive(Debug, Clone)]
pub struct Usot {
    /// USOT_p^p = `transport` + ρ₁ KL(π₁ | μ) + ρ₂ KL(π₂ | ν) `[1]`, differentiable in the points.
    pub value: Tensor<1>,
    /// The sliced transport term 1/L Σ_l m · W_p^p(π₁/m, π₂/m) `[1]` (POT's `sot_loss`),
    /// differentiable in the points.
    pub transport: Tensor<1>,
    /// W_p^p of the normalised reweighted marginals on each direction `[L]` (POT's `1d_losses`).
    pub one_d: Vec<f64>,
    /// Mass m of the reweighted marginals (POT's `full_mass`, one value for all directions).
    pub mass: f64,
    /// π₁ `[n]` (mass m).
    pub a_reweighted: Vec<f64>,
    /// π₂ `[m]` (mass m).
    pub b_reweighted: Vec<f64>,
    /// The final potentials f `[n]` (after the last translation).
    pub f: Vec<f64>,
    /// The final potentials g `[m]`.
    pub g: Vec<f64>,
}

/// Sliced unbalanced OT (SUOT_p^p, module doc): the mean over directions of the 1-D unbalanced
/// OT between the projections, each solved by Frank–Wolfe — POT's
/// `ot.sliced_unbalanced_ot(X_s, X_t, reg_m=(rho1, rho2), a, b, p=p, projections=directions.T,
/// numItermax=iterations)` (which returns this value, a p-th power: no root is taken).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::unbalanced::{UnbalancedOptions, sliced_unbalanced_ot};
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 0.0]], &device);
/// let dirs = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0]], &device);
/// let same = sliced_unbalanced_ot(&x, &x, None, None, &dirs, UnbalancedOptions::new(1.0, 1.0))
///     .unwrap();
/// assert!(same.value.into_scalar::<f32>().abs() < 1e-6); // SUOT(μ, μ) = 0
/// let y = x.clone().add_scalar(0.5);
/// let balanced = UnbalancedOptions::new(f64::INFINITY, f64::INFINITY);
/// let sw = sliced_unbalanced_ot(&x, &y, None, None, &dirs, balanced).unwrap();
/// // ρ = ∞: SW_2^2 = mean over the two axes of (0.5)² each.
/// assert!((sw.value.into_scalar::<f32>() - 0.25).abs() < 1e-6);
/// ```
///
/// # Errors
/// [`SwError::Shape`] for empty clouds, dimensions that disagree, weights of other lengths or
/// no directions; [`SwError::NonFinite`] for NaN/inf points or directions;
/// [`SwError::InvalidParameter`] for negative or all-zero weights or ρ ≤ 0;
/// [`SwError::InvalidP`] for p < 1; [`SwError::F64PowOnVulkan`] for f64 with p ∉ {1, 2} on wgpu.
pub fn sliced_unbalanced_ot(
    x: &Tensor<2>,
    y: &Tensor<2>,
    a: Option<&Tensor<1>>,
    b: Option<&Tensor<1>>,
    directions: &Tensor<2>,
    options: UnbalancedOptions,
) -> Result<Suot> {
    let prob = Problem::new(x, y, a, b, directions, options)?;
    let (n, m, l) = (prob.n, prob.m, prob.l);
    let slices: Vec<SliceSolution> = (0..l)
        .into_par_iter()
        .map(|k| prob.solve_slice(k))
        .collect();
    let mut out = Suot {
        value: Tensor::zeros([1], (&x.device(), x.dtype())),
        per_direction: Tensor::zeros([1], (&x.device(), x.dtype())),
        transport: Vec::with_capacity(l),
        mass: Vec::with_capacity(l),
        a_reweighted: vec![0.0; l * n],
        b_reweighted: vec![0.0; l * m],
        f: vec![0.0; l * n],
        g: vec![0.0; l * m],
    };
    let (mut plans, mut constants) = (Vec::with_capacity(l), Vec::with_capacity(l));
    for (k, s) in slices.into_iter().enumerate() {
        let (ox, oy) = (&prob.order_x[k], &prob.order_y[k]);
        for (r, &i) in ox.iter().enumerate() {
            out.a_reweighted[k * n + i] = s.u[r] * s.mass;
            out.f[k * n + i] = s.f[r];
        }
        for (r, &j) in oy.iter().enumerate() {
            out.b_reweighted[k * m + j] = s.v[r] * s.mass;
            out.g[k * m + j] = s.g[r];
        }
        let kl = prob.kl_terms(
            &out.a_reweighted[k * n..(k + 1) * n],
            &out.b_reweighted[k * m..(k + 1) * m],
        );
        out.transport.push(s.mass * s.cost);
        out.mass.push(s.mass);
        constants.push(kl);
        plans.push(scaled(s.plan, s.mass));
    }
    let transport = prob.transport(x, y, directions, &plans); // [L]
    let constants =
        Tensor::<1>::from_data(TensorData::new(constants, [l]), (&x.device(), x.dtype()));
    out.per_direction = transport + constants;
    out.value = out.per_direction.clone().mean();
    Ok(out)
}

/// Unbalanced sliced OT (USOT_p^p, module doc): one pair of reweighted marginals (π₁, π₂) for
/// all directions, found by Frank–Wolfe on the sliced dual — POT's
/// `ot.unbalanced_sliced_ot(X_s, X_t, reg_m=(rho1, rho2), a, b, p=p,
/// projections=directions.T, numItermax=iterations)` (its third output; a p-th power).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::unbalanced::{UnbalancedOptions, unbalanced_sliced_ot};
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[0.0], [1.0]], &device);
/// let y = Tensor::<2>::from_floats([[0.0], [1.0], [10.0]], &device);
/// let dirs = Tensor::<2>::from_floats([[1.0]], &device);
/// let out = unbalanced_sliced_ot(&x, &y, None, None, &dirs, UnbalancedOptions::new(1.0, 1.0))
///     .unwrap();
/// // The outlier at 10 loses most of its mass instead of being transported.
/// assert!(out.b_reweighted[2] < 0.1 * out.b_reweighted[0]);
/// ```
///
/// # Errors
/// As [`sliced_unbalanced_ot`].
pub fn unbalanced_sliced_ot(
    x: &Tensor<2>,
    y: &Tensor<2>,
    a: Option<&Tensor<1>>,
    b: Option<&Tensor<1>>,
    directions: &Tensor<2>,
    options: UnbalancedOptions,
) -> Result<Usot> {
    let prob = Problem::new(x, y, a, b, directions, options)?;
    let (n, m, l) = (prob.n, prob.m, prob.l);
    let (mut f, mut g) = (vec![0.0; n], vec![0.0; m]);
    for i in 0..options.iterations {
        let (u, v, _) = prob.reweight(&mut f, &mut g, &prob.a, &prob.b);
        let duals: Vec<(Vec<f64>, Vec<f64>)> = (0..l)
            .into_par_iter()
            .map(|k| {
                let (ox, oy) = (&prob.order_x[k], &prob.order_y[k]);
                let us: Vec<f64> = ox.iter().map(|&i| u[i]).collect();
                let vs: Vec<f64> = oy.iter().map(|&j| v[j]).collect();
                let (fs, gs) = dual_1d(&prob.sorted_x[k], &us, &prob.sorted_y[k], &vs, options.p);
                let (mut fo, mut go) = (vec![0.0; n], vec![0.0; m]);
                for (r, &i) in ox.iter().enumerate() {
                    fo[i] = fs[r];
                }
                for (r, &j) in oy.iter().enumerate() {
                    go[j] = gs[r];
                }
                (fo, go)
            })
            .collect();
        let t = 2.0 / (2.0 + i as f64);
        for (idx, fi) in f.iter_mut().enumerate() {
            let mean = duals.iter().map(|(fo, _)| fo[idx]).sum::<f64>() / l as f64;
            *fi += t * (mean - *fi);
        }
        for (idx, gj) in g.iter_mut().enumerate() {
            let mean = duals.iter().map(|(_, go)| go[idx]).sum::<f64>() / l as f64;
            *gj += t * (mean - *gj);
        }
    }
    let (u, v, mass) = prob.reweight(&mut f, &mut g, &prob.a, &prob.b);
    let per: Vec<(SparsePlan, f64)> = (0..l)
        .into_par_iter()
        .map(|k| {
            let (ox, oy) = (&prob.order_x[k], &prob.order_y[k]);
            let us: Vec<f64> = ox.iter().map(|&i| u[i]).collect();
            let vs: Vec<f64> = oy.iter().map(|&j| v[j]).collect();
            let cost = cost_1d(&prob.sorted_x[k], &us, &prob.sorted_y[k], &vs, options.p);
            (north_west(ox, &u, oy, &v), cost)
        })
        .collect();
    let one_d: Vec<f64> = per.iter().map(|(_, c)| *c).collect();
    let plans: Vec<SparsePlan> = per.into_iter().map(|(p, _)| scaled(p, mass)).collect();
    let a_reweighted: Vec<f64> = u.iter().map(|w| w * mass).collect();
    let b_reweighted: Vec<f64> = v.iter().map(|w| w * mass).collect();
    let kl = prob.kl_terms(&a_reweighted, &b_reweighted);
    let transport = prob.transport(x, y, directions, &plans).mean();
    let value = transport.clone().add_scalar(kl);
    Ok(Usot {
        value,
        transport,
        one_d,
        mass,
        a_reweighted,
        b_reweighted,
        f,
        g,
    })
}

/// The checked inputs, with the projections sorted on the host.
struct Problem {
    n: usize,
    m: usize,
    l: usize,
    options: UnbalancedOptions,
    /// μ, ν as given (not normalised).
    a: Vec<f64>,
    b: Vec<f64>,
    /// Per direction: stable ascending order of the projections and the sorted projections.
    order_x: Vec<Vec<usize>>,
    order_y: Vec<Vec<usize>>,
    sorted_x: Vec<Vec<f64>>,
    sorted_y: Vec<Vec<f64>>,
}

/// One direction's SUOT solution in sorted order.
struct SliceSolution {
    f: Vec<f64>,
    g: Vec<f64>,
    /// Normalised reweighted marginals (sorted order).
    u: Vec<f64>,
    v: Vec<f64>,
    mass: f64,
    /// W_p^p of the normalised marginals.
    cost: f64,
    /// Their north-west-corner coupling, in the points' indices.
    plan: SparsePlan,
}

fn scaled(mut plan: SparsePlan, by: f64) -> SparsePlan {
    plan.mass.iter_mut().for_each(|w| *w *= by);
    plan
}

impl Problem {
    fn new(
        x: &Tensor<2>,
        y: &Tensor<2>,
        a: Option<&Tensor<1>>,
        b: Option<&Tensor<1>>,
        directions: &Tensor<2>,
        options: UnbalancedOptions,
    ) -> Result<Self> {
        let (n, m, l) = check_pair(
            x,
            y,
            directions,
            "unbalanced sliced OT: x [n, d], y [m, d], directions [L, d]",
        )?;
        options.check()?;
        check_pow_support(&x.device(), x.dtype(), options.p)?;
        let (a, b) = (host_weights(a, n, "a")?, host_weights(b, m, "b")?);
        let what = "unbalanced sliced OT: points or directions";
        let px = host_projections(x, directions, what)?; // [n, L]
        let py = host_projections(y, directions, what)?; // [m, L]
        let column = |p: &[f64], len: usize, k: usize| -> Vec<f64> {
            (0..len).map(|i| p[i * l + k]).collect()
        };
        let (mut order_x, mut order_y, mut sorted_x, mut sorted_y) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..l {
            let (cx, cy) = (column(&px, n, k), column(&py, m, k));
            let (ox, oy) = (stable_order(&cx), stable_order(&cy));
            sorted_x.push(ox.iter().map(|&i| cx[i]).collect());
            sorted_y.push(oy.iter().map(|&j| cy[j]).collect());
            order_x.push(ox);
            order_y.push(oy);
        }
        Ok(Self {
            n,
            m,
            l,
            options,
            a,
            b,
            order_x,
            order_y,
            sorted_x,
            sorted_y,
        })
    }

    /// Steps 1–2 of the module doc: translates (f, g) in place and returns the normalised
    /// reweighted marginals (same order as `a`, `b`) and their mass.
    fn reweight(
        &self,
        f: &mut [f64],
        g: &mut [f64],
        a: &[f64],
        b: &[f64],
    ) -> (Vec<f64>, Vec<f64>, f64) {
        let (r1, r2) = (self.options.rho1, self.options.rho2);
        let lse = |pot: &[f64], w: &[f64], rho: f64| -> f64 {
            logsumexp(pot.iter().zip(w).map(|(p, w)| -p / rho + w.ln()))
        };
        let transl = match (r1.is_infinite(), r2.is_infinite()) {
            (true, true) => 0.0,
            (true, false) => r2 * (a.iter().sum::<f64>().ln() - lse(g, b, r2)),
            (false, true) => r1 * (lse(f, a, r1) - b.iter().sum::<f64>().ln()),
            (false, false) => (r1 * r2) / (r1 + r2) * (lse(f, a, r1) - lse(g, b, r2)),
        };
        f.iter_mut().for_each(|v| *v += transl);
        g.iter_mut().for_each(|v| *v -= transl);
        let reweighted = |pot: &[f64], w: &[f64], rho: f64| -> Vec<f64> {
            if rho.is_infinite() {
                w.to_vec()
            } else {
                w.iter()
                    .zip(pot)
                    .map(|(w, p)| w * (-p / rho).exp())
                    .collect()
            }
        };
        let (mut u, mut v) = (reweighted(f, a, r1), reweighted(g, b, r2));
        let mass: f64 = u.iter().sum();
        let mass_v: f64 = v.iter().sum();
        u.iter_mut().for_each(|w| *w /= mass);
        v.iter_mut().for_each(|w| *w /= mass_v);
        (u, v, mass)
    }

    /// One direction of SUOT (POT's `uot_1d` on column k).
    fn solve_slice(&self, k: usize) -> SliceSolution {
        let (ox, oy) = (&self.order_x[k], &self.order_y[k]);
        let a: Vec<f64> = ox.iter().map(|&i| self.a[i]).collect();
        let b: Vec<f64> = oy.iter().map(|&j| self.b[j]).collect();
        let (xs, ys) = (&self.sorted_x[k], &self.sorted_y[k]);
        let (mut f, mut g) = (vec![0.0; self.n], vec![0.0; self.m]);
        for i in 0..self.options.iterations {
            let (u, v, _) = self.reweight(&mut f, &mut g, &a, &b);
            let (fd, gd) = dual_1d(xs, &u, ys, &v, self.options.p);
            let t = 2.0 / (2.0 + i as f64);
            f.iter_mut().zip(&fd).for_each(|(f, d)| *f += t * (d - *f));
            g.iter_mut().zip(&gd).for_each(|(g, d)| *g += t * (d - *g));
        }
        let (u, v, mass) = self.reweight(&mut f, &mut g, &a, &b);
        let cost = cost_1d(xs, &u, ys, &v, self.options.p);
        // The coupling in the points' indices: weights in the points' order.
        let (mut uo, mut vo) = (vec![0.0; self.n], vec![0.0; self.m]);
        for (r, &i) in ox.iter().enumerate() {
            uo[i] = u[r];
        }
        for (r, &j) in oy.iter().enumerate() {
            vo[j] = v[r];
        }
        let plan = north_west(ox, &uo, oy, &vo);
        SliceSolution {
            f,
            g,
            u,
            v,
            mass,
            cost,
            plan,
        }
    }

    /// ρ₁ KL(π₁ | μ) + ρ₂ KL(π₂ | ν) (terms with ρ = ∞ left out), π in the points' order.
    fn kl_terms(&self, pi1: &[f64], pi2: &[f64]) -> f64 {
        let mut total = 0.0;
        if self.options.rho1.is_finite() {
            total += self.options.rho1 * kl(pi1, &self.a);
        }
        if self.options.rho2.is_finite() {
            total += self.options.rho2 * kl(pi2, &self.b);
        }
        total
    }

    /// Σ over each plan's entries of mass · |⟨x_i, θ_l⟩ − ⟨y_j, θ_l⟩|^p, gathered on the
    /// device from the projections (differentiable in the points): `[L]`.
    fn transport(
        &self,
        x: &Tensor<2>,
        y: &Tensor<2>,
        directions: &Tensor<2>,
        plans: &[SparsePlan],
    ) -> Tensor<1> {
        let (device, dtype, l) = (x.device(), x.dtype(), self.l);
        let (mut ix, mut iy, mut owner, mut mass) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, plan) in plans.iter().enumerate() {
            for ((&i, &j), &w) in plan.rows.iter().zip(&plan.cols).zip(&plan.mass) {
                ix.push((i * l + k) as i64);
                iy.push((j * l + k) as i64);
                owner.push(k as i64);
                mass.push(w);
            }
        }
        let e = mass.len();
        let index = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [e]), &device);
        let px = x
            .clone()
            .matmul(directions.clone().transpose())
            .reshape([self.n * l]);
        let py = y
            .clone()
            .matmul(directions.clone().transpose())
            .reshape([self.m * l]);
        let diff = px.select(0, index(ix)) - py.select(0, index(iy));
        let powered = match self.options.p {
            1.0 => diff.abs(),
            2.0 => diff.square(),
            p => diff.abs().powf_scalar(p),
        };
        let weighted =
            powered * Tensor::<1>::from_data(TensorData::new(mass, [e]), (&device, dtype));
        Tensor::<1>::zeros([l], (&device, dtype)).select_assign(
            0,
            index(owner),
            weighted,
            burn::tensor::IndexingUpdateOp::Add,
        )
    }
}

/// POT's `kl_div(p, q, mass=True)`: Σ p log(p/q + 1e-16) + Σ (q − p), a 0 entry of p
/// contributing 0 to the first sum.
fn kl(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(&p, &q)| {
            let log_term = if p == 0.0 {
                0.0
            } else {
                p * (p / q + KL_EPS).ln()
            };
            log_term + (q - p)
        })
        .sum()
}

fn logsumexp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The merged quantile grid of POT's `wasserstein_1d` (ot/lp/solver_1d.py lines 153–170) for
/// sorted samples: for each of the n + m sorted cumulative weights q_k (a stable merge, u's
/// first on ties), which list it came from (`true`: u) with its index, and the atoms
/// i_u(k), i_v(k) covering it (`searchsorted` left, clipped to the last atom).
struct QuantileGrid {
    q: Vec<f64>,
    from_u: Vec<(bool, usize)>,
    atoms: Vec<(usize, usize)>,
}

fn quantile_grid(wu: &[f64], wv: &[f64]) -> QuantileGrid {
    let cumsum = |w: &[f64]| -> Vec<f64> {
        w.iter()
            .scan(0.0, |acc, &v| {
                *acc += v;
                Some(*acc)
            })
            .collect()
    };
    let (cu, cv) = (cumsum(wu), cumsum(wv));
    let (n, m) = (cu.len(), cv.len());
    let mut grid = QuantileGrid {
        q: Vec::with_capacity(n + m),
        from_u: Vec::with_capacity(n + m),
        atoms: Vec::with_capacity(n + m),
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if j == m || (i < n && cu[i] <= cv[j]) {
            grid.q.push(cu[i]);
            grid.from_u.push((true, i));
            i += 1;
        } else {
            grid.q.push(cv[j]);
            grid.from_u.push((false, j));
            j += 1;
        }
    }
    let (mut pu, mut pv) = (0, 0);
    for &q in &grid.q {
        while pu < n && cu[pu] < q {
            pu += 1;
        }
        while pv < m && cv[pv] < q {
            pv += 1;
        }
        grid.atoms.push((pu.min(n - 1), pv.min(m - 1)));
    }
    grid
}

fn power(d: f64, p: f64) -> f64 {
    if p == 2.0 { d * d } else { d.abs().powf(p) }
}

/// W_p^p between sorted samples `u` (weights `wu`) and `v` (`wv`) by POT's quantile formula
/// Σ_k (q_k − q_{k−1}) |u_{i_u(k)} − v_{i_v(k)}|^p.
fn cost_1d(u: &[f64], wu: &[f64], v: &[f64], wv: &[f64], p: f64) -> f64 {
    let grid = quantile_grid(wu, wv);
    let mut prev = 0.0;
    let mut total = 0.0;
    for (&q, &(iu, iv)) in grid.q.iter().zip(&grid.atoms) {
        total += (q - prev) * power(u[iu] - v[iv], p);
        prev = q;
    }
    total
}

/// The centred 1-D dual potentials (f̂ `[n]`, ĝ `[m]`) of sorted samples,
/// as POT's `emd_1d_dual_backprop` (ot/lp/solver_1d.py line 469): the gradient of
/// [`cost_1d`]'s formula in the weights, with the atoms i_u(k), i_v(k) held (they are
/// piecewise constant): with D_k = |u_{i_u(k)} − v_{i_v(k)}|^p and D_{n+m+1} = 0,
/// ∂/∂q_k = D_k − D_{k+1}, routed to the cumulative weight q_k came from, then summed back
/// through the cumulative sum (∂/∂w_i = Σ_{i' ≥ i} ∂/∂cdf_{i'}); centred by
/// c = (⟨wv, ĝ⟩ − ⟨wu, f̂⟩) / (Σ wu + Σ wv), f̂ += c, ĝ −= c (`center_ot_dual`).
fn dual_1d(u: &[f64], wu: &[f64], v: &[f64], wv: &[f64], p: f64) -> (Vec<f64>, Vec<f64>) {
    let grid = quantile_grid(wu, wv);
    let d: Vec<f64> = grid
        .atoms
        .iter()
        .map(|&(iu, iv)| power(u[iu] - v[iv], p))
        .collect();
    let (n, m, k) = (u.len(), v.len(), d.len());
    let (mut dcu, mut dcv) = (vec![0.0; n], vec![0.0; m]);
    for idx in 0..k {
        let next = if idx + 1 < k { d[idx + 1] } else { 0.0 };
        match grid.from_u[idx] {
            (true, i) => dcu[i] = d[idx] - next,
            (false, j) => dcv[j] = d[idx] - next,
        }
    }
    let reverse_cumsum = |g: &mut [f64]| {
        let mut acc = 0.0;
        for v in g.iter_mut().rev() {
            acc += *v;
            *v = acc;
        }
    };
    reverse_cumsum(&mut dcu);
    reverse_cumsum(&mut dcv);
    let dot = |w: &[f64], g: &[f64]| w.iter().zip(g).map(|(w, g)| w * g).sum::<f64>();
    let c = (dot(wv, &dcv) - dot(wu, &dcu)) / (wu.iter().sum::<f64>() + wv.iter().sum::<f64>());
    dcu.iter_mut().for_each(|f| *f += c);
    dcv.iter_mut().for_each(|g| *g -= c);
    (dcu, dcv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1-D dual potentials against central finite differences of the quantile formula in
    /// the weights (away from ties), and ⟨wu, f̂⟩ + ⟨wv, ĝ⟩ = W_p^p (Euler: the formula is
    /// 1-homogeneous in the weights), ⟨wu, f̂⟩ = ⟨wv, ĝ⟩ (centring).
    #[test]
    fn dual_is_the_weight_gradient_of_the_quantile_cost() {
        let u = [-1.3, -0.2, 0.4, 0.9, 2.0];
        let v = [-0.7, 0.1, 0.3, 1.6];
        let wu = [0.13, 0.31, 0.07, 0.22, 0.27];
        let wv = [0.21, 0.19, 0.37, 0.23];
        for p in [1.0, 2.0, 3.0] {
            let (f, g) = dual_1d(&u, &wu, &v, &wv, p);
            let cost = cost_1d(&u, &wu, &v, &wv, p);
            let pf: f64 = wu.iter().zip(&f).map(|(w, f)| w * f).sum();
            let pg: f64 = wv.iter().zip(&g).map(|(w, g)| w * g).sum();
            assert!((pf + pg - cost).abs() < 1e-12, "Euler, p = {p}");
            assert!((pf - pg).abs() < 1e-12, "centred, p = {p}");
            // Raw gradient = centred − c: differences between entries are centring-free.
            let h = 1e-7;
            let fd = |i: usize| {
                let (mut up, mut down) = (wu, wu);
                up[i] += h;
                down[i] -= h;
                (cost_1d(&u, &up, &v, &wv, p) - cost_1d(&u, &down, &v, &wv, p)) / (2.0 * h)
            };
            for i in 1..u.len() {
                let want = fd(i) - fd(0);
                assert!(
                    (f[i] - f[0] - want).abs() < 1e-6,
                    "p = {p}, i = {i}: {} vs {want}",
                    f[i] - f[0]
                );
            }
        }
    }

    #[test]
    fn logsumexp_and_kl() {
        let v = [1000.0, 1000.0];
        assert!((logsumexp(v.iter().copied()) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!(kl(&[0.5, 0.5], &[0.5, 0.5]).abs() < 1e-15);
        assert_eq!(kl(&[0.0, 1.0], &[0.0, 1.0]), 0.0);
        // KL(2q | q) = Σ 2q log 2 − Σ q.
        let q = [0.25, 0.75];
        let p = [0.5, 1.5];
        assert!((kl(&p, &q) - (2.0 * 2f64.ln() - 1.0)).abs() < 1e-12);
    }
}
