//! The CV-SW paper's claim on real clouds: ShapeNet shapes 32 → 33 (×2, −10 / +10).
//! At L = 10 the variance of LCV/UCV estimates of SW₂² is ≥ 5× below plain Monte Carlo's
//! (500 seeds); at L = 100 their mean is within 1% of a Fibonacci-lattice quadrature with
//! 8 000 directions computed on the host in f64 (independent of the crate).

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::*;
use sw_loss::directions::uniform;
use sw_loss::{
    BatchReduction, ControlVariate, Directions, Gamma, Measure, cv_sw_pp_with_directions,
    sw_pp_with_directions,
};

fn stats(v: &[f64]) -> (f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (mean, var)
}

#[test]
fn control_variates_cut_variance_on_shapenet() {
    let device = Device::flex();
    let (xs, ys) = shapenet_flow_pair();
    let x = Measure::single(Tensor::<2>::from_data(
        TensorData::new(xs.clone(), [2048, 3]),
        &device,
    ));
    let y = Measure::single(Tensor::<2>::from_data(
        TensorData::new(ys.clone(), [2048, 3]),
        &device,
    ));

    // Reference, independent of the crate: SW₂² by an f64 Fibonacci quadrature with host
    // projections and sorts (8 000 directions; 4 000 agree to 1e-4, so it has converged).
    let reference = host::fibonacci_mean(8_000, |th| host::wpp(&xs, &ys, 3, th, 2.0));
    let coarse = host::fibonacci_mean(4_000, |th| host::wpp(&xs, &ys, 3, th, 2.0));
    assert!(
        rel_err(coarse, reference) < 1e-4,
        "quadrature: {coarse} vs {reference}"
    );

    device.seed(2024);
    let seeds = 500;
    let mut report = String::new();
    for l in [10usize, 100] {
        let (mut mc, mut lcv, mut ucv) = (vec![], vec![], vec![]);
        for _ in 0..seeds {
            let dirs = Directions::Shared(uniform(l, 3, &device));
            mc.push(scalar(
                sw_pp_with_directions(&x, &y, &dirs, 2.0, BatchReduction::Mean).unwrap(),
            ));
            lcv.push(scalar(
                cv_sw_pp_with_directions(
                    &x,
                    &y,
                    &dirs,
                    2.0,
                    ControlVariate::Lower,
                    Gamma::Fitted,
                    BatchReduction::Mean,
                )
                .unwrap(),
            ));
            ucv.push(scalar(
                cv_sw_pp_with_directions(
                    &x,
                    &y,
                    &dirs,
                    2.0,
                    ControlVariate::Upper,
                    Gamma::Fitted,
                    BatchReduction::Mean,
                )
                .unwrap(),
            ));
        }
        let (m_mc, v_mc) = stats(&mc);
        let (m_l, v_l) = stats(&lcv);
        let (m_u, v_u) = stats(&ucv);
        report += &format!(
            "L={l}: reference {reference:.4}; MC mean {m_mc:.4} var {v_mc:.4e}; LCV mean {m_l:.4} var {v_l:.4e} (ratio {:.1}); UCV mean {m_u:.4} var {v_u:.4e} (ratio {:.1})\n",
            v_mc / v_l,
            v_mc / v_u
        );
        if l == 10 {
            assert!(
                v_mc / v_l >= 5.0,
                "LCV variance ratio {} < 5\n{report}",
                v_mc / v_l
            );
            assert!(
                v_mc / v_u >= 5.0,
                "UCV variance ratio {} < 5\n{report}",
                v_mc / v_u
            );
        } else {
            assert!(
                rel_err(m_l, reference) < 0.01,
                "LCV mean off by more than 1%\n{report}"
            );
            assert!(
                rel_err(m_u, reference) < 0.01,
                "UCV mean off by more than 1%\n{report}"
            );
            assert!(
                rel_err(m_mc, reference) < 0.01,
                "MC mean off by more than 1%\n{report}"
            );
        }
    }
    println!("{report}");
}
