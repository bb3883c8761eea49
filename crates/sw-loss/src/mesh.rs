//! Meshes as probability measures, differentiable in the vertex positions, for SW losses
//! between surfaces (DDOT: a neural ODE deforms a template, trained with SW between meshes).
//!
//! From vertices `V: [V, 3]` and triangles `F: [F, 3]` (Int):
//! ```text
//! vertices   μ = (1/V) Σ_i δ_{v_i}
//! lumped     μ = Σ_i (m_i / Σ m) δ_{v_i},  m_i = ⅓ Σ_{f ∋ i} A_f   (lumped mass; weights carry
//!            gradients, as the varifold's do)
//! surface    μ = (1/K) Σ_k δ_{p_k},  face f_k ~ area,  p_k = (1−√r₁) a + √r₁(1−r₂) b + √r₁ r₂ c
//!            (r₁, r₂ ~ U(0, 1); the face draw is a constant, p_k is differentiable in a, b, c)
//! varifold   μ = Σ_f (A_f / Σ A) δ_{(c_f, λ n_f)} on R⁶,  c_f centroid, n_f unit normal,
//!            A_f area (the weights carry gradients too); λ weighs orientation against position
//! ```
//! with `n_f ∝ (b − a) × (c − a)` and `A_f = ‖(b − a) × (c − a)‖ / 2`. Any estimator of this
//! crate then compares two such measures (weighted ones through the quantile path).

use burn::tensor::{Distribution, IndexingUpdateOp, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::error::{Result, SwError};
use crate::measure::Measure;

/// The three corners of every face: `([F, 3], [F, 3], [F, 3])`, differentiable in `vertices`.
pub fn face_corners(
    vertices: &Tensor<2>,
    faces: &Tensor<2, Int>,
) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let f = faces.dims()[0];
    let corner = |k: usize| {
        let idx = faces.clone().slice([0..f, k..k + 1]).reshape([f]);
        vertices.clone().select(0, idx)
    };
    (corner(0), corner(1), corner(2))
}

fn cross(u: Tensor<2>, v: Tensor<2>) -> Tensor<2> {
    let f = u.dims()[0];
    let c = |t: &Tensor<2>, k: usize| t.clone().slice([0..f, k..k + 1]);
    let (ux, uy, uz) = (c(&u, 0), c(&u, 1), c(&u, 2));
    let (vx, vy, vz) = (c(&v, 0), c(&v, 1), c(&v, 2));
    Tensor::cat(
        vec![
            uy.clone() * vz.clone() - uz.clone() * vy.clone(),
            uz * vx.clone() - ux.clone() * vz,
            ux * vy - uy * vx,
        ],
        1,
    )
}

/// Face areas `[F]` and unit normals `[F, 3]` (zero-safe), differentiable in `vertices`.
pub fn face_areas_normals(vertices: &Tensor<2>, faces: &Tensor<2, Int>) -> (Tensor<1>, Tensor<2>) {
    let (a, b, c) = face_corners(vertices, faces);
    let n = cross(b - a.clone(), c - a);
    let len = n.clone().square().sum_dim(1).add_scalar(1e-30).sqrt(); // [F, 1]
    let areas = len.clone().mul_scalar(0.5).squeeze_dim(1);
    (areas, n / len)
}

fn check(vertices: &Tensor<2>, faces: &Tensor<2, Int>) -> Result<()> {
    let ([v, d], [f, k]) = (vertices.dims(), faces.dims());
    if d != 3 {
        return Err(SwError::Shape {
            what: "mesh vertices",
            expected: "[V, 3]".into(),
            got: vec![v, d],
        });
    }
    if k != 3 {
        return Err(SwError::Shape {
            what: "mesh faces",
            expected: "[F, 3] triangles".into(),
            got: vec![f, k],
        });
    }
    if v == 0 || f == 0 {
        return Err(SwError::Empty {
            what: "mesh",
            shape: vec![v, f],
        });
    }
    let (min, max) = (
        faces.clone().min().into_scalar::<i64>(),
        faces.clone().max().into_scalar::<i64>(),
    );
    if min < 0 || max >= v as i64 {
        return Err(SwError::InvalidParameter {
            name: "mesh faces",
            message: format!("face indices span {min}..={max} but the mesh has {v} vertices"),
        });
    }
    Ok(())
}

/// The uniform measure on the vertices.
pub fn vertex_measure(vertices: Tensor<2>) -> Measure {
    Measure::single(vertices)
}

/// The vertices weighted by their lumped mass `m_i = ⅓ Σ_{f ∋ i} A_f` — the vertex measure
/// that agrees in density with area-weighted surface samples of the same mesh (the uniform
/// one over-weights finely triangulated regions).
///
/// # Shapes
/// `vertices: [V, 3]`, `faces: [F, 3]` → a single measure on V points with weights `[1, V]`.
pub fn lumped_vertex_measure(vertices: &Tensor<2>, faces: &Tensor<2, Int>) -> Result<Measure> {
    check(vertices, faces)?;
    let ([v, _], [f, _]) = (vertices.dims(), faces.dims());
    let (areas, _) = face_areas_normals(vertices, faces); // [F]
    let per_corner = areas
        .mul_scalar(1.0 / 3.0)
        .unsqueeze_dim::<2>(1)
        .repeat_dim(1, 3)
        .reshape([3 * f]); // [3F], row-major like the faces
    let mass = Tensor::<1>::zeros([v], (&vertices.device(), vertices.dtype())).select_assign(
        0,
        faces.clone().reshape([3 * f]),
        per_corner,
        IndexingUpdateOp::Add,
    ); // [V]
    Ok(Measure::single(vertices.clone()).with_weights_1d(mass))
}

/// K face indices drawn with probability ∝ area: inverse-CDF search over the cumulative areas
/// (one read of the `[F]` areas, O((F + K) log F)), from a host generator seeded by the device
/// RNG. (Burn's `categorical` builds a K × F comparison, which is quadratic at mesh sizes.)
fn sample_faces_by_area(areas: Tensor<1>, k: usize) -> Result<Vec<i64>> {
    let device = areas.device();
    let host: Vec<f64> = areas
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64");
    let mut cumulative = Vec::with_capacity(host.len());
    let mut total = 0f64;
    for a in &host {
        total += a;
        cumulative.push(total);
    }
    if !(total.is_finite() && total > 0.0) {
        return Err(SwError::InvalidParameter {
            name: "mesh",
            message: format!("total surface area is {total}; cannot sample the surface"),
        });
    }
    let seed_bits: Vec<f64> =
        Tensor::<1>::random([2], Distribution::Uniform(0.0, 16_777_216.0), &device)
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .expect("f64");
    let mut rng = StdRng::seed_from_u64(((seed_bits[0] as u64) << 24) ^ seed_bits[1] as u64);
    let last = host.len() - 1;
    Ok((0..k)
        .map(|_| {
            let u = rng.random::<f64>() * total;
            cumulative.partition_point(|&c| c < u).min(last) as i64
        })
        .collect())
}

/// K points uniform on the surface (faces drawn by area from the device RNG, reparameterised
/// barycentric coordinates), as a uniform measure; differentiable in `vertices`.
pub fn surface_measure(vertices: &Tensor<2>, faces: &Tensor<2, Int>, k: usize) -> Result<Measure> {
    check(vertices, faces)?;
    if k == 0 {
        return Err(SwError::InvalidParameter {
            name: "surface samples",
            message: "must be at least 1".into(),
        });
    }
    let device = vertices.device();
    let dtype = vertices.dtype();
    let (areas, _) = face_areas_normals(vertices, faces);
    let chosen = sample_faces_by_area(areas.detach().inner(), k)?;
    let chosen = Tensor::<1, Int>::from_data(TensorData::new(chosen, [k]), &faces.device());
    let chosen_faces = faces.clone().select(0, chosen);
    let (a, b, c) = face_corners(vertices, &chosen_faces);
    let r = Tensor::<2>::random(
        [k, 2],
        Distribution::Default,
        (&device.clone().inner(), dtype),
    );
    let r = if device.is_autodiff() {
        r.autodiff()
    } else {
        r
    };
    let s1 = r.clone().slice([0..k, 0..1]).sqrt();
    let r2 = r.slice([0..k, 1..2]);
    let wa = s1.clone().neg().add_scalar(1.0);
    let wb = s1.clone() * r2.clone().neg().add_scalar(1.0);
    let wc = s1 * r2;
    Ok(Measure::single(a * wa + b * wb + c * wc))
}

/// The oriented varifold: one Dirac per face at (centroid, λ·unit normal) ∈ R⁶, weighted by
/// area; differentiable in `vertices` through positions, normals and weights.
pub fn varifold_measure(
    vertices: &Tensor<2>,
    faces: &Tensor<2, Int>,
    normal_weight: f64,
) -> Result<Measure> {
    check(vertices, faces)?;
    let (a, b, c) = face_corners(vertices, faces);
    let centroids = (a + b + c).mul_scalar(1.0 / 3.0);
    let (areas, normals) = face_areas_normals(vertices, faces);
    let points = Tensor::cat(vec![centroids, normals.mul_scalar(normal_weight)], 1);
    Ok(Measure::single(points).with_weights_1d(areas))
}
