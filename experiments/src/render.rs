//! Shaded pictures of triangle meshes: a small z-buffer rasteriser.
//!
//! ```text
//! camera   p' = R p,  R = R_x(pitch) R_y(yaw);  orthographic: pixel = c + s (p'_x, −p'_y),
//!          depth p'_z (larger is nearer); s, c fit the union of all meshes' bounding spheres
//! shading  I = base · (a + (1 − a) |n̂ · ℓ|),  ℓ = the viewing direction (0, 0, 1),
//!          n̂ the face normal in camera space (two-sided: winding does not matter), a = 0.25
//! raster   per face, the pixels whose centres fall inside the projected triangle (edge
//!          functions), depth interpolated barycentrically, nearest fragment wins
//! ```
//! Written by hand (about a hundred lines): the crates that rasterise (e.g. a 3-D engine)
//! pull in a GPU stack for a picture the experiments write a few times per run.

use datasets::mesh::Mesh;

/// One rendered panel: `size × size` RGB pixels, row-major from the top.
pub struct Panel {
    pub size: usize,
    pub rgb: Vec<u8>,
}

/// The ambient share of the shading.
pub const AMBIENT: f64 = 0.25;

/// A fixed three-quarter view: yaw, then pitch, in radians.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub yaw: f64,
    pub pitch: f64,
}

impl Default for View {
    fn default() -> Self {
        Self {
            yaw: 35f64.to_radians(),
            pitch: 25f64.to_radians(),
        }
    }
}

impl View {
    fn rotate(&self, p: [f64; 3]) -> [f64; 3] {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        let x = cy * p[0] + sy * p[2];
        let z = -sy * p[0] + cy * p[2];
        let y = cp * p[1] - sp * z;
        [x, y, sp * p[1] + cp * z]
    }
}

/// The centre and radius that frame all `meshes` (their vertices' bounding sphere about the
/// mean of the bounding-box centres).
pub fn frame(meshes: &[&Mesh]) -> ([f64; 3], f64) {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for m in meshes {
        for v in m.vertices.chunks_exact(3) {
            for k in 0..3 {
                lo[k] = lo[k].min(v[k] as f64);
                hi[k] = hi[k].max(v[k] as f64);
            }
        }
    }
    let c = [0, 1, 2].map(|k| 0.5 * (lo[k] + hi[k]));
    let mut r: f64 = 1e-9;
    for m in meshes {
        for v in m.vertices.chunks_exact(3) {
            let d = (0..3).map(|k| (v[k] as f64 - c[k]).powi(2)).sum::<f64>();
            r = r.max(d.sqrt());
        }
    }
    (c, r)
}

/// Renders `mesh` in `color` on white, framed by `(centre, radius)` (see [`frame`]) so that
/// panels of different meshes share one scale.
pub fn render(
    mesh: &Mesh,
    color: [u8; 3],
    view: View,
    framing: ([f64; 3], f64),
    size: usize,
) -> Panel {
    let (c, r) = framing;
    let scale = 0.45 * size as f64 / r;
    let half = size as f64 / 2.0;
    let cam: Vec<[f64; 3]> = mesh
        .vertices
        .chunks_exact(3)
        .map(|v| view.rotate([0, 1, 2].map(|k| v[k] as f64 - c[k])))
        .collect();
    let screen: Vec<[f64; 3]> = cam
        .iter()
        .map(|p| [half + scale * p[0], half - scale * p[1], p[2]])
        .collect();
    let mut rgb = vec![255u8; size * size * 3];
    let mut depth = vec![f64::NEG_INFINITY; size * size];
    for f in mesh.faces.chunks_exact(3) {
        let [i, j, k] = [0, 1, 2].map(|t| f[t] as usize);
        let (u, w) = (sub(cam[j], cam[i]), sub(cam[k], cam[i]));
        let n = [
            u[1] * w[2] - u[2] * w[1],
            u[2] * w[0] - u[0] * w[2],
            u[0] * w[1] - u[1] * w[0],
        ];
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len == 0.0 {
            continue;
        }
        let shade = AMBIENT + (1.0 - AMBIENT) * (n[2] / len).abs();
        let [a, b, d] = [screen[i], screen[j], screen[k]];
        let px = color.map(|ch| (ch as f64 * shade).round().clamp(0.0, 255.0) as u8);
        let area = (b[0] - a[0]) * (d[1] - a[1]) - (b[1] - a[1]) * (d[0] - a[0]);
        if area.abs() < 1e-12 {
            continue;
        }
        let x0 = a[0].min(b[0]).min(d[0]).floor().max(0.0) as usize;
        let x1 = (a[0].max(b[0]).max(d[0]).ceil() as usize).min(size);
        let y0 = a[1].min(b[1]).min(d[1]).floor().max(0.0) as usize;
        let y1 = (a[1].max(b[1]).max(d[1]).ceil() as usize).min(size);
        for y in y0..y1 {
            for x in x0..x1 {
                let (qx, qy) = (x as f64 + 0.5, y as f64 + 0.5);
                let edge = |p: [f64; 3], q: [f64; 3]| {
                    (q[0] - p[0]) * (qy - p[1]) - (q[1] - p[1]) * (qx - p[0])
                };
                let (l0, l1, l2) = (edge(b, d) / area, edge(d, a) / area, edge(a, b) / area);
                if l0 < 0.0 || l1 < 0.0 || l2 < 0.0 {
                    continue;
                }
                let z = l0 * a[2] + l1 * b[2] + l2 * d[2];
                let at = y * size + x;
                if z > depth[at] {
                    depth[at] = z;
                    rgb[3 * at..3 * at + 3].copy_from_slice(&px);
                }
            }
        }
    }
    Panel { size, rgb }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(tilt: f64) -> Mesh {
        // A unit square in the x–y plane, tilted about the x axis by `tilt`.
        let (s, c) = tilt.sin_cos();
        let v = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
            .iter()
            .flat_map(|p: &[f64; 2]| [p[0] as f32, (p[1] * c) as f32, (p[1] * s) as f32])
            .collect();
        Mesh::new(v, vec![0, 1, 2, 0, 2, 3]).unwrap()
    }

    const FRONT: View = View {
        yaw: 0.0,
        pitch: 0.0,
    };

    #[test]
    fn a_tilted_square_is_shaded_by_the_cosine_of_its_tilt() {
        for deg in [0.0f64, 30.0, 60.0] {
            let m = square(deg.to_radians());
            let p = render(&m, [200, 100, 40], FRONT, ([0.0; 3], 2.0), 101);
            let centre = &p.rgb[3 * (50 * 101 + 50)..3 * (50 * 101 + 50) + 3];
            let want = AMBIENT + (1.0 - AMBIENT) * deg.to_radians().cos();
            for (ch, base) in centre.iter().zip([200.0, 100.0, 40.0]) {
                assert!(
                    (*ch as f64 - base * want).abs() <= 0.5 + 1e-9,
                    "{deg}°: {centre:?}"
                );
            }
            // The projected height shrinks by cos(tilt): count the lit pixels of the centre column.
            let lit = (0..101)
                .filter(|y| p.rgb[3 * (y * 101 + 50)] != 255)
                .count() as f64;
            let want_px = 2.0 * deg.to_radians().cos() * 0.45 * 101.0 / 2.0;
            assert!((lit - want_px).abs() <= 2.0, "{deg}°: {lit} vs {want_px}");
        }
    }

    #[test]
    fn the_nearest_face_wins_and_empty_space_stays_white() {
        // A front-facing square at z = 0.5 and, listed after it, a square tilted by 60° at
        // z ≤ 0 that lies inside its footprint: without depth testing the tilted one (darker)
        // would overwrite it.
        let mut near = square(0.0);
        near.vertices
            .iter_mut()
            .skip(2)
            .step_by(3)
            .for_each(|z| *z = 0.5);
        let mut far = square(60f64.to_radians());
        far.vertices
            .iter_mut()
            .skip(2)
            .step_by(3)
            .for_each(|z| *z -= 1.0);
        let framing = ([0.0; 3], 2.0);
        let alone = render(&near, [255, 0, 0], FRONT, framing, 64);
        let mut both = near.clone();
        both.vertices.extend(&far.vertices);
        both.faces.extend(far.faces.iter().map(|f| f + 4));
        let both = render(&both, [255, 0, 0], FRONT, framing, 64);
        assert_eq!(alone.rgb, both.rgb, "the far square must be hidden");
        assert_eq!(&both.rgb[0..3], &[255, 255, 255]);
        // And the tilted square alone is darker than the front one.
        let tilted = render(&far, [255, 0, 0], FRONT, framing, 64);
        let at = 3 * (32 * 64 + 32);
        assert!(tilted.rgb[at] < alone.rgb[at]);
    }
}
