//! Mesh measures: areas and normals, surface samples on the surface, gradients of the
//! surface-sample measure against finite differences, varifold SW between a mesh and itself.

mod common;

use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use common::*;
use sw_loss::mesh::{
    face_areas_normals, lumped_vertex_measure, surface_measure, varifold_measure, vertex_measure,
};
use sw_loss::{BatchReduction, Directions, sw_with_directions};

static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// An octahedron: 6 vertices on the axes, 8 outward faces (area √3/2 each).
fn octahedron(device: &Device, dtype: DType) -> (Tensor<2>, Tensor<2, Int>) {
    let v = vec![
        1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0,
    ];
    let f: Vec<i64> = vec![
        0, 2, 4, 2, 1, 4, 1, 3, 4, 3, 0, 4, 2, 0, 5, 1, 2, 5, 3, 1, 5, 0, 3, 5,
    ];
    (
        t2(v, 6, 3, device, dtype),
        Tensor::from_data(TensorData::new(f, [8, 3]), device),
    )
}

#[test]
fn areas_normals_and_samples_lie_on_the_surface() {
    let _g = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let (v, f) = octahedron(&device, DType::F64);
    let (areas, normals) = face_areas_normals(&v, &f);
    for a in to_vec(areas) {
        assert!((a - 3f64.sqrt() / 2.0).abs() < 1e-12);
    }
    let n = to_vec(normals);
    let vs = to_vec(v.clone());
    let fs: Vec<i64> = f
        .clone()
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    for k in 0..8 {
        // Outward: the face of the octant (±, ±, ±) has centroid (±1, ±1, ±1)/3 and unit
        // normal (±1, ±1, ±1)/√3 = √3 · centroid (same signs, pointing away from the origin).
        for c in 0..3 {
            let centroid: f64 = (0..3)
                .map(|j| vs[fs[3 * k + j] as usize * 3 + c])
                .sum::<f64>()
                / 3.0;
            assert!(
                (n[3 * k + c] - 3f64.sqrt() * centroid).abs() < 1e-12,
                "face {k}: normal {:?} is not √3 × centroid",
                &n[3 * k..3 * k + 3]
            );
        }
    }
    device.seed(4);
    let samples = surface_measure(&v, &f, 2000).unwrap();
    let p = to_vec(samples.points().clone());
    for q in p.chunks_exact(3) {
        assert!(
            (q.iter().map(|c| c.abs()).sum::<f64>() - 1.0).abs() < 1e-9,
            "on the octahedron |x|+|y|+|z| = 1"
        );
    }
    // Area-uniform with equal faces: each octant gets about 1/8 of the points.
    let upper = p.chunks_exact(3).filter(|q| q[2] > 0.0).count();
    assert!((upper as f64 / 2000.0 - 0.5).abs() < 0.05);
    let bad = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 1, 9], [1, 3]), &device);
    assert!(
        surface_measure(&v, &bad, 10)
            .unwrap_err()
            .to_string()
            .contains("6 vertices")
    );
}

#[test]
fn surface_sample_gradient_matches_finite_differences() {
    let _g = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let (v0, f) = octahedron(&device, DType::F64);
    let base = to_vec(v0);
    let mut rng = HostRng::new(2);
    let target = t2(rng.normals(64 * 3), 64, 3, &device, DType::F64);
    let dirs = Directions::Shared(t2(rng.unit_rows(16, 3), 16, 3, &device, DType::F64));
    let loss = |vals: Vec<f64>| {
        let v = t2(vals, 6, 3, &device, DType::F64).require_grad();
        device.seed(11);
        let m = surface_measure(&v, &f, 64).unwrap();
        (
            v.clone(),
            sw_with_directions(
                &m,
                &vertex_measure(target.clone()),
                &dirs,
                2.0,
                BatchReduction::Mean,
            )
            .unwrap(),
        )
    };
    let (v, value) = loss(base.clone());
    let g = to_vec(v.grad(&value.backward()).unwrap());
    let h = 1e-6;
    for i in 0..18 {
        let (mut plus, mut minus) = (base.clone(), base.clone());
        plus[i] += h;
        minus[i] -= h;
        let fd = (scalar(loss(plus).1) - scalar(loss(minus).1)) / (2.0 * h);
        assert!(
            (fd - g[i]).abs() <= 1e-5 * fd.abs().max(1e-2),
            "vertex coordinate {i}: autodiff {} vs FD {fd}",
            g[i]
        );
    }
}

#[test]
fn varifold_distance_to_itself_is_zero_and_sees_orientation() {
    let device = Device::flex();
    let (v, f) = octahedron(&device, DType::F64);
    let mut rng = HostRng::new(3);
    let dirs = Directions::Shared(t2(rng.unit_rows(32, 6), 32, 6, &device, DType::F64));
    let m = varifold_measure(&v, &f, 1.0).unwrap();
    assert!(scalar(sw_with_directions(&m, &m, &dirs, 2.0, BatchReduction::Mean).unwrap()) < 1e-12);
    // Reversing every face flips the normals: same support in R³, different varifold.
    let flipped = f.clone().slice([0..8, 0..1]);
    let flipped = Tensor::cat(
        vec![
            flipped,
            f.clone().slice([0..8, 2..3]),
            f.clone().slice([0..8, 1..2]),
        ],
        1,
    );
    let r = varifold_measure(&v, &flipped, 1.0).unwrap();
    let d = scalar(sw_with_directions(&m, &r, &dirs, 2.0, BatchReduction::Mean).unwrap());
    assert!(d > 0.1, "orientation changes the varifold: {d}");
}

/// The unit square as two triangles (0,1,2), (0,2,3), each of area ½: the lumped masses are
/// ⅓ of the adjacent areas, (⅓, ⅙, ⅓, ⅙), summing to the area 1 — where the uniform vertex
/// measure gives ¼ each.
#[test]
fn lumped_vertex_weights_are_a_third_of_the_adjacent_areas() {
    let device = Device::flex();
    let v = t2(
        vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        4,
        3,
        &device,
        DType::F64,
    );
    let f =
        Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0, 2, 3], [2, 3]), &device);
    let m = lumped_vertex_measure(&v, &f).unwrap();
    let w: Vec<f64> = m
        .weights()
        .expect("weighted")
        .clone()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    let expected = [1.0 / 3.0, 1.0 / 6.0, 1.0 / 3.0, 1.0 / 6.0];
    for (a, b) in w.iter().zip(expected) {
        assert!((a - b).abs() < 1e-12, "{w:?}");
    }
    assert!(vertex_measure(v).weights().is_none());
}
