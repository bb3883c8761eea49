//! FreeSurfer binary triangle surfaces (`lh.white`, `lh.pial`, `rh.sphere`, ...), the format
//! that nibabel's `freesurfer.io.read_geometry` reads and FreeSurfer's `mris_*` tools write.
//!
//! ```text
//! magic       3 bytes  FF FF FE                       (TRIANGLE_MAGIC = 16777214)
//! stamp       text up to "\n", then one more "\n"    ("created by <user> on <date>")
//! V, F        int32 big-endian each
//! vertices    V × 3 float32 big-endian               (x, y, z in mm, surface RAS)
//! faces       F × 3 int32 big-endian                 (0-based vertex indices)
//! [trailer]   optional volume info (ignored)
//! ```
//! The quad formats (magic FF FF FF and FF FF FD, from FreeSurfer < 3) are recognised and
//! rejected with a clear error. Faces are read as stored: FreeSurfer writes them
//! counter-clockwise seen from outside, as this crate's meshes are.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::mesh::Mesh;

/// The first three bytes of a triangle surface.
pub const TRIANGLE_MAGIC: [u8; 3] = [0xFF, 0xFF, 0xFE];
const QUAD_MAGICS: [[u8; 3]; 2] = [[0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFD]];

/// Whether `bytes` start like a FreeSurfer surface (triangle or quad format).
pub fn is_freesurfer(bytes: &[u8]) -> bool {
    bytes.len() >= 3
        && (bytes[..3] == TRIANGLE_MAGIC || QUAD_MAGICS.iter().any(|m| bytes[..3] == *m))
}

/// Reads a FreeSurfer triangle surface; errors name `path` and what is wrong.
pub fn read_freesurfer(path: impl AsRef<Path>) -> Result<Mesh> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes).map_err(|m| DataError::format(path, format!("FreeSurfer surface: {m}")))
}

fn parse(bytes: &[u8]) -> std::result::Result<Mesh, String> {
    if bytes.len() < 3 {
        return Err("shorter than the 3-byte magic number".into());
    }
    if QUAD_MAGICS.iter().any(|m| bytes[..3] == *m) {
        return Err("a quad-format surface (FreeSurfer < 3); convert it with `mris_convert` to the triangle format".into());
    }
    if bytes[..3] != TRIANGLE_MAGIC {
        return Err(format!(
            "magic number {:02X} {:02X} {:02X} is not the triangle magic FF FF FE",
            bytes[0], bytes[1], bytes[2]
        ));
    }
    // The stamp line, then the empty line nibabel skips with a second readline().
    let mut at = 3;
    for line in ["creation stamp", "empty line after the stamp"] {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("no newline ending the {line}"))?;
        at += end + 1;
    }
    let mut next = |what: &str| -> std::result::Result<[u8; 4], String> {
        let word = bytes
            .get(at..at + 4)
            .ok_or_else(|| format!("truncated at byte {at}: expected {what}"))?;
        at += 4;
        Ok([word[0], word[1], word[2], word[3]])
    };
    let count = |w: [u8; 4], what: &str| -> std::result::Result<usize, String> {
        let n = i32::from_be_bytes(w);
        usize::try_from(n).map_err(|_| format!("negative {what} {n}"))
    };
    let v = count(next("the vertex count")?, "vertex count")?;
    let f = count(next("the face count")?, "face count")?;
    // Capacities bounded by the file's size: a corrupt count must give "truncated", not an abort.
    let mut vertices = Vec::with_capacity((3 * v).min(bytes.len() / 4));
    for i in 0..v {
        for axis in ["x", "y", "z"] {
            vertices.push(f32::from_be_bytes(next(&format!("{axis} of vertex {i}"))?));
        }
    }
    let mut faces = Vec::with_capacity((3 * f).min(bytes.len() / 4));
    for i in 0..f {
        for _ in 0..3 {
            let k = i32::from_be_bytes(next(&format!("an index of face {i}"))?);
            faces.push(
                u32::try_from(k).map_err(|_| format!("face {i} has the negative index {k}"))?,
            );
        }
    }
    Mesh::new(vertices, faces).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/data/freesurfer_octahedron.white`, written by `scripts/fixtures/freesurfer_surface.py`
    /// with nibabel's `write_geometry` (an octahedron of radius 40 mm about (10, −20, 5)).
    fn fixture() -> std::path::PathBuf {
        crate::crate_file("tests/data/freesurfer_octahedron.white")
    }

    #[test]
    fn reads_the_nibabel_fixture() {
        let m = read_freesurfer(fixture()).unwrap();
        assert_eq!((m.num_vertices(), m.num_faces()), (6, 8));
        let centre = [10.0f32, -20.0, 5.0];
        // Vertex k = centre ± 40 mm along axis k / 2 (the script's order).
        for (k, v) in m.vertices.chunks_exact(3).enumerate() {
            let sign = if k % 2 == 0 { 40.0 } else { -40.0 };
            for axis in 0..3 {
                let want = centre[axis] + if axis == k / 2 { sign } else { 0.0 };
                assert_eq!(v[axis], want, "vertex {k} axis {axis}");
            }
        }
        assert_eq!(&m.faces[..3], &[0, 2, 4]);
        // Outward orientation: every normal points away from the centre, area = 8 · (√2·40)²·√3/4.
        let want_area = 8.0 * (2f64 * 1600.0) * 3f64.sqrt() / 4.0;
        assert!((m.area() - want_area).abs() < 1e-3 * want_area);
        // Same content through the generic reader (detected by its magic, whatever the name).
        assert_eq!(crate::mesh_io::read_mesh(fixture()).unwrap(), m);
    }

    #[test]
    fn bad_surfaces_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read(fixture()).unwrap();
        let p = dir.path().join("lh.pial");
        std::fs::write(&p, &good[..good.len() - 7]).unwrap();
        let e = read_freesurfer(&p).unwrap_err().to_string();
        assert!(e.contains("lh.pial") && e.contains("truncated"), "{e}");
        let mut quad = good.clone();
        quad[2] = 0xFF;
        std::fs::write(&p, &quad).unwrap();
        let e = read_freesurfer(&p).unwrap_err().to_string();
        assert!(e.contains("quad-format"), "{e}");
        let mut bad_index = good.clone();
        let n = bad_index.len();
        bad_index[n - 4..].copy_from_slice(&9i32.to_be_bytes());
        std::fs::write(&p, &bad_index).unwrap();
        let e = read_freesurfer(&p).unwrap_err().to_string();
        assert!(
            e.contains("lh.pial") && e.contains("references vertex 9"),
            "{e}"
        );
    }
}
