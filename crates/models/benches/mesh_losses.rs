//! Forward+backward time of SW between meshes (vertex, surface-sample and varifold measures,
//! L = 100) next to Chamfer's, on icospheres of 2 562 to 163 842 vertices deformed against an
//! ellipsoid: SW grows like n log n, Chamfer like n² (time and memory).
//! `cargo bench -p models --bench mesh_losses` prints one JSON line per size and loss.

mod common;

use burn::tensor::{Device, Tensor};
use common::time;
use datasets::synthetic_mesh::{ellipsoid, icosphere};
use models::mesh_ode::chamfer_loss;
use sw_loss::mesh::{surface_measure, varifold_measure, vertex_measure};
use sw_loss::{BatchReduction, Directions, Measure, sw_pp_with_directions};

/// Chamfer's N×M distance matrix is skipped above this many entries (4 GB of f32).
const CHAMFER_MAX_ENTRIES: usize = 1 << 30;

fn main() {
    common::keep_freed_memory();
    let device = Device::flex().autodiff();
    device.seed(0);
    for k in 4..=7 {
        let template = icosphere(k);
        let target = ellipsoid(k, 1.0, 0.7, 0.45);
        let n = template.num_vertices();
        let faces = template.faces_tensor(&device);
        let v0 = template.vertices_tensor(&device);
        let tv = target.vertices_tensor(&device);
        let tf = target.faces_tensor(&device);
        let dirs3 = Directions::Shared(sw_loss::directions::uniform(100, 3, &device));
        let dirs6 = Directions::Shared(sw_loss::directions::uniform(100, 6, &device));
        let reps = if n > 50_000 { 3 } else { 7 };
        let grad_of = |loss: Tensor<1>, v: &Tensor<2>| {
            let g = v.grad(&loss.backward()).expect("gradient");
            std::hint::black_box(g.slice([0..1, 0..1]).into_scalar::<f32>());
        };
        let report = |name: &str, secs: Option<f64>| match secs {
            Some(s) => {
                println!("{{\"vertices\": {n}, \"loss\": \"{name}\", \"median_s\": {s:.5}}}")
            }
            None => println!(
                "{{\"vertices\": {n}, \"loss\": \"{name}\", \"median_s\": null, \"note\": \"skipped: the {n}x{n} distance matrix does not fit in memory\"}}"
            ),
        };
        // SW₂² between the deformed template's measure and a fixed target measure.
        let sw_time = |measure: &dyn Fn(&Tensor<2>) -> Measure, target: &Measure, dirs| {
            time(reps, || {
                let v = v0.clone().require_grad();
                let l =
                    sw_pp_with_directions(&measure(&v), target, dirs, 2.0, BatchReduction::Mean)
                        .unwrap();
                grad_of(l, &v);
            })
        };
        let target_points = Measure::single(tv.clone());
        let target_varifold = varifold_measure(&tv, &tf, 0.1).unwrap();
        let s = sw_time(&|v| vertex_measure(v.clone()), &target_points, &dirs3);
        report("sw-vertices", Some(s));
        let s = sw_time(
            &|v| surface_measure(v, &faces, n).unwrap(),
            &target_points,
            &dirs3,
        );
        report("sw-surface", Some(s));
        let s = sw_time(
            &|v| varifold_measure(v, &faces, 0.1).unwrap(),
            &target_varifold,
            &dirs6,
        );
        report("sw-varifold", Some(s));
        if n * n <= CHAMFER_MAX_ENTRIES {
            let s = time(reps.min(3), || {
                let v = v0.clone().require_grad();
                grad_of(chamfer_loss(v.clone(), tv.clone()), &v);
            });
            report("chamfer", Some(s));
        } else {
            report("chamfer", None);
        }
    }
}
