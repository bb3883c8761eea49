//! Seeded synthetic point clouds sampled uniformly by surface area, so experiments and tests
//! run with no download.
//!
//! ```text
//! sphere        unit sphere: x = g/‖g‖, g ~ N(0, I₃)
//! ellipsoid     semi-axes (1.0, 0.7, 0.45): sphere points mapped by diag(a, b, c), accepted with
//!               probability ∝ the area element ‖(bc·u₁, ac·u₂, ab·u₃)‖
//! torus         radii R = 0.7, r = 0.3: angles uniform, accepted with probability (R + r cos φ)/(R + r)
//! cube          surface of [−½, ½]³: a face uniformly, then a point uniformly on it
//! cylinder      radius 0.5, height 1.2, with caps: lateral side or a cap in proportion to area
//! cone          radius 0.5, height 1.0, with base: slant surface (t = √u from the apex) or base
//! bumpy-sphere  radius 1 + 0.15 h(u), h a random combination of real spherical harmonics of
//!               degree 1–3, accepted with probability ∝ r(u)² (area element, neglecting slope)
//! ```

use std::str::FromStr;

use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};

use crate::cloud::PointCloud;
use crate::error::DataError;

/// A synthetic surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Unit sphere.
    Sphere,
    /// Ellipsoid with semi-axes (1.0, 0.7, 0.45).
    Ellipsoid,
    /// Torus with radii 0.7 and 0.3.
    Torus,
    /// Surface of the unit cube centred at 0.
    Cube,
    /// Closed cylinder.
    Cylinder,
    /// Closed cone.
    Cone,
    /// Sphere with a radius modulated by random low-order spherical harmonics.
    BumpySphere,
}

impl Shape {
    /// All shapes, in a fixed order.
    pub const ALL: [Shape; 7] = [
        Shape::Sphere,
        Shape::Ellipsoid,
        Shape::Torus,
        Shape::Cube,
        Shape::Cylinder,
        Shape::Cone,
        Shape::BumpySphere,
    ];

    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Sphere => "sphere",
            Shape::Ellipsoid => "ellipsoid",
            Shape::Torus => "torus",
            Shape::Cube => "cube",
            Shape::Cylinder => "cylinder",
            Shape::Cone => "cone",
            Shape::BumpySphere => "bumpy-sphere",
        }
    }

    /// n points sampled uniformly by area, from a generator seeded with `seed`.
    pub fn sample(self, n: usize, seed: u64) -> PointCloud {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut pts = Vec::with_capacity(n * 3);
        let harmonics = random_harmonics(&mut rng);
        while pts.len() < n * 3 {
            if let Some(p) = self.propose(&mut rng, &harmonics) {
                pts.extend_from_slice(&[p[0] as f32, p[1] as f32, p[2] as f32]);
            }
        }
        PointCloud::new(pts)
    }

    fn propose(self, rng: &mut StdRng, harmonics: &[f64; 15]) -> Option<[f64; 3]> {
        use std::f64::consts::PI;
        match self {
            Shape::Sphere => Some(unit(rng)),
            Shape::Ellipsoid => {
                let (a, b, c) = (1.0, 0.7, 0.45);
                let u = unit(rng);
                let g = ((b * c * u[0]).powi(2) + (a * c * u[1]).powi(2) + (a * b * u[2]).powi(2))
                    .sqrt();
                let g_max = (b * c).max(a * c).max(a * b);
                (rng.random::<f64>() * g_max <= g).then_some([a * u[0], b * u[1], c * u[2]])
            }
            Shape::Torus => {
                let (big, small) = (0.7, 0.3);
                let (theta, phi) = (
                    2.0 * PI * rng.random::<f64>(),
                    2.0 * PI * rng.random::<f64>(),
                );
                let w = big + small * phi.cos();
                (rng.random::<f64>() * (big + small) <= w).then_some([
                    w * theta.cos(),
                    w * theta.sin(),
                    small * phi.sin(),
                ])
            }
            Shape::Cube => {
                let face = rng.random_range(0..6);
                let (s, t) = (rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5);
                let sign = if face % 2 == 0 { 0.5 } else { -0.5 };
                Some(match face / 2 {
                    0 => [sign, s, t],
                    1 => [s, sign, t],
                    _ => [s, t, sign],
                })
            }
            Shape::Cylinder => {
                let (r, h) = (0.5, 1.2);
                let (side, cap) = (2.0 * PI * r * h, PI * r * r);
                let pick = rng.random::<f64>() * (side + 2.0 * cap);
                let theta = 2.0 * PI * rng.random::<f64>();
                if pick < side {
                    Some([
                        r * theta.cos(),
                        r * theta.sin(),
                        h * (rng.random::<f64>() - 0.5),
                    ])
                } else {
                    let rho = r * rng.random::<f64>().sqrt();
                    let z = if pick < side + cap { h / 2.0 } else { -h / 2.0 };
                    Some([rho * theta.cos(), rho * theta.sin(), z])
                }
            }
            Shape::Cone => {
                let (r, h): (f64, f64) = (0.5, 1.0);
                let slant = (r * r + h * h).sqrt();
                let (lateral, base) = (PI * r * slant, PI * r * r);
                let theta = 2.0 * PI * rng.random::<f64>();
                if rng.random::<f64>() * (lateral + base) < lateral {
                    let t = rng.random::<f64>().sqrt(); // distance from the apex, ∝ area
                    Some([r * t * theta.cos(), r * t * theta.sin(), h / 2.0 - h * t])
                } else {
                    let rho = r * rng.random::<f64>().sqrt();
                    Some([rho * theta.cos(), rho * theta.sin(), -h / 2.0])
                }
            }
            Shape::BumpySphere => {
                let u = unit(rng);
                let radius = 1.0 + 0.15 * harmonic(harmonics, u);
                let max = 1.0 + 0.15 * harmonics.iter().map(|c| c.abs()).sum::<f64>();
                (rng.random::<f64>() * max * max <= radius * radius).then_some([
                    radius * u[0],
                    radius * u[1],
                    radius * u[2],
                ])
            }
        }
    }
}

impl FromStr for Shape {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shape::ALL
            .into_iter()
            .find(|shape| shape.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
                DataError::Invalid(format!(
                    "unknown synthetic shape `{s}`; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// The radial field h(u) of a bumpy sphere with the given seed: a random combination of real
/// spherical harmonics of degree 1–3 with Σ|c| = 1, so |h| ≤ 1 on the sphere.
pub fn harmonic_field(seed: u64) -> impl Fn([f64; 3]) -> f64 {
    let c = random_harmonics(&mut StdRng::seed_from_u64(seed));
    move |u| harmonic(&c, u)
}

fn unit(rng: &mut StdRng) -> [f64; 3] {
    loop {
        let g: [f64; 3] = [
            StandardNormal.sample(rng),
            StandardNormal.sample(rng),
            StandardNormal.sample(rng),
        ];
        let n = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
        if n > 1e-12 {
            return [g[0] / n, g[1] / n, g[2] / n];
        }
    }
}

/// Coefficients of the 15 real spherical harmonics of degree 1–3, normalised to Σ|c| = 1.
fn random_harmonics(rng: &mut StdRng) -> [f64; 15] {
    let mut c = [0f64; 15];
    for v in c.iter_mut() {
        *v = StandardNormal.sample(rng);
    }
    let total: f64 = c.iter().map(|v| v.abs()).sum();
    c.map(|v| v / total)
}

/// Σ c_k Y_k(u) over real harmonics of degree 1–3 written as polynomials on the sphere (each
/// bounded by 1 in absolute value there).
fn harmonic(c: &[f64; 15], u: [f64; 3]) -> f64 {
    let [x, y, z] = u;
    let basis = [
        x,
        y,
        z,
        2.0 * x * y,
        2.0 * y * z,
        2.0 * x * z,
        x * x - y * y,
        0.5 * (3.0 * z * z - 1.0),
        x * (x * x - 3.0 * y * y),
        y * (3.0 * x * x - y * y),
        z * (x * x - y * y) * 2.0,
        4.0 * x * y * z,
        x * (5.0 * z * z - 1.0) * 0.5,
        y * (5.0 * z * z - 1.0) * 0.5,
        0.5 * z * (5.0 * z * z - 3.0),
    ];
    basis.iter().zip(c).map(|(b, c)| b * c).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_seeded_and_on_their_surfaces() {
        for shape in Shape::ALL {
            let a = shape.sample(500, 7);
            assert_eq!(a.len(), 500);
            assert_eq!(a, shape.sample(500, 7), "{} is deterministic", shape.name());
            assert_ne!(a, shape.sample(500, 8));
            assert_eq!(shape.name().parse::<Shape>().unwrap(), shape);
        }
        for p in Shape::Sphere.sample(200, 1).points.chunks_exact(3) {
            assert!(((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - 1.0).abs() < 1e-5);
        }
        for p in Shape::Torus.sample(200, 1).points.chunks_exact(3) {
            let ring = ((p[0] * p[0] + p[1] * p[1]).sqrt() - 0.7).hypot(p[2]);
            assert!((ring - 0.3).abs() < 1e-5);
        }
        for p in Shape::Cube.sample(200, 1).points.chunks_exact(3) {
            assert!((p.iter().fold(0f32, |m, v| m.max(v.abs())) - 0.5).abs() < 1e-6);
        }
        assert!(
            "blob"
                .parse::<Shape>()
                .unwrap_err()
                .to_string()
                .contains("bumpy-sphere")
        );
    }

    #[test]
    fn sphere_sampling_is_uniform() {
        // Uniform on S²: E[z] = 0, E[z²] = 1/3 (Archimedes: z is uniform on [−1, 1]).
        let c = Shape::Sphere.sample(20_000, 3);
        let z: Vec<f64> = c.points.chunks_exact(3).map(|p| p[2] as f64).collect();
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let second = z.iter().map(|v| v * v).sum::<f64>() / z.len() as f64;
        assert!(
            mean.abs() < 0.02 && (second - 1.0 / 3.0).abs() < 0.01,
            "{mean} {second}"
        );
    }
}
