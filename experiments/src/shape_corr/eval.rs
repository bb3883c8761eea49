//! Evaluation of trained variants on test pairs, with and without test-time refinement in one
//! of the two official procedures ([`Refiner`]): `test.py` (default: dropout off, one Adam
//! whose moments carry over between pairs, lr 1e-3, 15 steps of SURFMNet + alignment, no SW —
//! the official gate never opens in `refine()`) or `adaptive_refinement_one.py` (a fresh Adam
//! per pair, dropout on, + bidirectional SW with log-Sinkhorn plans σ = 0.1, 10 iterations);
//! then the isometric inference.
//!
//! Label: with `adaptive`, the `no-sw` variant's refinement also drops the SW term, so the
//! table's two axes are independent (the official script always uses it).

use anyhow::{Result, anyhow};
use burn::module::{Flag, Module, ModuleMapper, Param};
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use models::diffusion_net::DiffusionNet;
use models::fmap::{ObjectiveConfig, PlanKind, geodesic_errors, predict_pointmap};

use super::config::{RefineProcedure, ShapeCorrConfig};
use super::data::{OnDevice, Prepared};
use super::train::{adam, step, training_objective};

/// The refinement objective of a variant.
pub fn refinement_objective(cfg: &ShapeCorrConfig, with_sw: bool) -> ObjectiveConfig {
    ObjectiveConfig {
        sw_bidirectional: true,
        plan: PlanKind::Sinkhorn {
            sigma: cfg.refine.sigma,
            iterations: cfg.refine.sinkhorn_iterations,
        },
        ..training_objective(&cfg.train, with_sw)
    }
}

/// The point map y → x of the network on `(x, y)` (evaluation mode, no dropout).
pub fn pointmap(net: &DiffusionNet, x: &OnDevice, y: &OnDevice) -> Vec<usize> {
    let frozen = net.valid();
    let fx = frozen.forward(x.wks.clone(), &x.ops);
    let fy = frozen.forward(y.wks.clone(), &y.ops);
    predict_pointmap(fx, fy, &x.pair.ops, &y.pair.ops)
}

/// Test-time refinement of one trained network over the test pairs, as the configured
/// procedure runs it (see [`RefineProcedure`]): `test.py` keeps one Adam across pairs and
/// refines with dropout off and without SW; `adaptive` starts a fresh Adam per pair, dropout
/// on, with the bidirectional Sinkhorn SW term (dropped for the `no-sw` variant, so the table's
/// two axes stay independent).
pub struct Refiner<'a> {
    cfg: &'a ShapeCorrConfig,
    objective: ObjectiveConfig,
    /// The Adam that `test.py` carries from pair to pair.
    optim: ModuleOptimizer,
}

impl<'a> Refiner<'a> {
    /// A refiner for the variant trained with (`with_sw`) or without the SW term.
    pub fn new(cfg: &'a ShapeCorrConfig, with_sw: bool) -> Self {
        let objective = match cfg.refine.procedure {
            RefineProcedure::TestPy => training_objective(&cfg.train, false),
            RefineProcedure::Adaptive => refinement_objective(cfg, with_sw),
        };
        Self {
            cfg,
            objective,
            optim: adam(cfg.train.adam_epsilon).init(),
        }
    }

    /// Refines a copy of `net` (the trained weights) on the pair and returns it.
    pub fn refine(
        &mut self,
        net: &DiffusionNet,
        x: &OnDevice,
        y: &OnDevice,
    ) -> Result<DiffusionNet> {
        let cfg = self.cfg;
        let mut refined = match cfg.refine.procedure {
            RefineProcedure::TestPy => without_dropout(net.clone().train()),
            RefineProcedure::Adaptive => {
                self.optim = adam(cfg.train.adam_epsilon).init();
                net.clone().train()
            }
        };
        for it in 0..cfg.refine.iterations {
            let at = format!("test-time refinement iteration {}", it + 1);
            refined = step(
                refined,
                &mut self.optim,
                cfg.refine.lr,
                cfg.train.grad_clip,
                x,
                y,
                &self.objective,
                &at,
            )?
            .0;
        }
        Ok(refined)
    }
}

/// Every training flag (dropout) of `module` off, its parameters still trainable: PyTorch's
/// `model.eval()` on a model that keeps computing gradients.
fn without_dropout<M: Module>(module: M) -> M {
    struct Off;
    impl ModuleMapper for Off {
        fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
            flag.with_value(false)
        }
    }
    module.map(&mut Off)
}

/// Geodesic errors of a point map of the pair `(x, y)` (official convention: distances on x).
pub fn errors(x: &Prepared, y: &Prepared, p2p: &[usize]) -> Result<Vec<f64>> {
    let (cx, cy, dist) = (
        x.shape.corr.as_ref(),
        y.shape.corr.as_ref(),
        x.shape.dist.as_ref(),
    );
    let (Some(cx), Some(cy), Some(dist)) = (cx, cy, dist) else {
        return Err(anyhow!(
            "shapes `{}`/`{}` lack ground truth",
            x.shape.name,
            y.shape.name
        ));
    };
    if cx.len() != cy.len() {
        return Err(anyhow!(
            "`{}` has {} correspondences and `{}` {}: they must share one template",
            x.shape.name,
            cx.len(),
            y.shape.name,
            cy.len()
        ));
    }
    geodesic_errors(dist, x.shape.mesh.num_vertices(), cx, cy, p2p).ok_or_else(|| {
        anyhow!(
            "a correspondence index of `{}`/`{}` is out of range",
            x.shape.name,
            y.shape.name
        )
    })
}

/// The shapes of one evaluation: host data with ground truth, the autodiff copy refinement
/// trains on, the plain copy point maps are read from.
pub struct TestSet<'a> {
    /// Host shapes with ground truth.
    pub prepared: &'a [Prepared],
    /// On the autodiff device (refinement).
    pub train: &'a [OnDevice],
    /// On the base device (point maps).
    pub eval: &'a [OnDevice],
    /// Ordered test pairs.
    pub pairs: &'a [(usize, usize)],
}

/// Mean geodesic error of `net`'s point maps (evaluation mode, no refinement) over the test
/// pairs: the official `validation` (`base_model.py`, `avg_error` over every pair's errors).
pub fn validation_error(net: &DiffusionNet, set: &TestSet) -> Result<f64> {
    let mut errs = Vec::new();
    for &(i, j) in set.pairs {
        let p2p = pointmap(net, &set.eval[i], &set.eval[j]);
        errs.extend(errors(&set.prepared[i], &set.prepared[j], &p2p)?);
    }
    Ok(errs.iter().sum::<f64>() / errs.len().max(1) as f64)
}

/// Geodesic errors of `net` over the test pairs without and with test-time refinement
/// (`cfg.refine.procedure`; the device is re-seeded with `cfg.header.seed + pair index` before each
/// refinement, so best and latest weights see the same draws). `pair_maps` receives the first
/// pair's point maps (plain, refined) for the PLY files.
pub fn evaluate(
    cfg: &ShapeCorrConfig,
    net: &DiffusionNet,
    with_sw: bool,
    set: &TestSet,
    device: &Device,
    label: &str,
    mut pair_maps: impl FnMut(usize, usize, &[usize], &[usize]) -> Result<()>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut plain, mut refined) = (Vec::new(), Vec::new());
    let mut refiner = Refiner::new(cfg, with_sw);
    let mut progress =
        crate::progress::Progress::new(&format!("eval {label}"), set.pairs.len() as u64);
    for (n, &(i, j)) in set.pairs.iter().enumerate() {
        let p2p = pointmap(net, &set.eval[i], &set.eval[j]);
        plain.extend(errors(&set.prepared[i], &set.prepared[j], &p2p)?);
        device.seed(cfg.header.seed.wrapping_add(n as u64));
        let tuned = refiner.refine(net, &set.train[i], &set.train[j])?;
        let p2p_refined = pointmap(&tuned, &set.eval[i], &set.eval[j]);
        refined.extend(errors(&set.prepared[i], &set.prepared[j], &p2p_refined)?);
        if n == 0 {
            pair_maps(i, j, &p2p, &p2p_refined)?;
        }
        progress.inc(1, String::new);
    }
    progress.finish();
    Ok((plain, refined))
}

/// The ordered test pairs (with `(i, i)` when `self_pairs`), at most `max` (0: all), spread
/// evenly over the full list.
pub fn test_pairs(range: [usize; 2], max: usize, self_pairs: bool) -> Vec<(usize, usize)> {
    let idx: Vec<usize> = (range[0]..range[1]).collect();
    let all: Vec<(usize, usize)> = idx
        .iter()
        .flat_map(|&i| idx.iter().map(move |&j| (i, j)))
        .filter(|(i, j)| self_pairs || i != j)
        .collect();
    if max == 0 || max >= all.len() {
        return all;
    }
    (0..max).map(|k| all[k * all.len() / max]).collect()
}

/// The device copy used by evaluation.
pub fn base_shapes(prepared: &[Prepared], device: &Device, num_evecs: usize) -> Vec<OnDevice> {
    prepared.iter().map(|p| p.on(device, num_evecs)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::ModuleVisitor;
    use burn::tensor::Tensor;

    use crate::shape_corr::data::{load, tests::tiny};

    const SMALL: [&str; 5] = [
        "model.out_channels=8",
        "model.hidden_channels=8",
        "model.blocks=1",
        "refine.iterations=3",
        "refine.lr=0.01",
    ];

    fn features(net: &DiffusionNet, s: &OnDevice) -> Vec<f32> {
        let f: Tensor<2> = without_dropout(net.clone()).forward(s.wks.clone(), &s.ops);
        f.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    struct Flags(Vec<bool>);
    impl ModuleVisitor for Flags {
        fn visit_flag(&mut self, flag: &Param<Flag>) {
            self.0.push(flag.is_enabled());
        }
    }
    fn flags(net: &DiffusionNet) -> Vec<bool> {
        let mut v = Flags(Vec::new());
        net.visit(&mut v);
        v.0
    }

    /// `test.py`: dropout off while refining, and the Adam moments of pair A change how pair B
    /// is refined (a fresh refiner on B alone ends elsewhere), with the weights reset to the
    /// trained ones each pair. `adaptive`: dropout on, a fresh Adam per pair (B after A equals B
    /// alone).
    #[test]
    fn test_py_refines_without_dropout_and_keeps_adam_moments_across_pairs() {
        let cache = tempfile::tempdir().unwrap();
        let device = Device::default().autodiff();
        for (procedure, carries, dropout) in [("test.py", true, false), ("adaptive", false, true)] {
            let mut extra = SMALL.to_vec();
            let p = format!("refine.procedure={procedure:?}");
            extra.push(&p);
            let cfg = tiny(true, cache.path(), &extra);
            let (prepared, _) = load(&cfg, "test").unwrap();
            let shapes = base_shapes(&prepared, &device, cfg.model.num_evecs);
            device.seed(1);
            let net = cfg.model.network().init(&device);
            assert!(flags(&net).iter().any(|&f| f), "the network has dropout");
            let mut both = Refiner::new(&cfg, true);
            device.seed(2);
            let _a = both.refine(&net, &shapes[0], &shapes[1]).unwrap();
            device.seed(3);
            let b_after_a = both.refine(&net, &shapes[1], &shapes[0]).unwrap();
            assert!(
                flags(&b_after_a).iter().all(|&f| f == dropout),
                "{procedure}: dropout {dropout}"
            );
            let mut alone = Refiner::new(&cfg, true);
            device.seed(3);
            let b_alone = alone.refine(&net, &shapes[1], &shapes[0]).unwrap();
            let (fa, fb) = (
                features(&b_after_a, &shapes[0]),
                features(&b_alone, &shapes[0]),
            );
            let differ = fa.iter().zip(&fb).any(|(x, y)| x != y);
            assert_eq!(
                differ, carries,
                "{procedure}: moments carried over = {differ}"
            );
            // Refining moved the weights away from the trained ones.
            assert_ne!(
                features(&b_alone, &shapes[0]),
                features(&net, &shapes[0]),
                "{procedure}"
            );
        }
    }
}
