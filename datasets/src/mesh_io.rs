//! Mesh files: OBJ (via `tobj`), PLY ASCII and binary (via `ply-rs`), OFF (by hand: a text
//! header, counts and index lists, which needs no library) and FreeSurfer binary surfaces
//! (`lh.white`, `lh.pial`, ...; recognised by their magic number whatever the file name, see
//! [`crate::freesurfer`]). Polygons are triangulated as fans. Every reader rejects a vertex with
//! a NaN or infinite coordinate, naming the file and the vertex. Written back as OBJ (text) and
//! binary little-endian PLY.

use std::io::Write;
use std::path::Path;

use ply_rs::parser::Parser;
use ply_rs::ply::{DefaultElement, Property};

use crate::error::{DataError, Result};
use crate::mesh::Mesh;

/// Reads a FreeSurfer surface (by its magic number) or an `.obj`, `.off` or `.ply` mesh (by
/// extension); a non-finite vertex coordinate is an error naming the file and the vertex.
pub fn read_mesh(path: impl AsRef<Path>) -> Result<Mesh> {
    let path = path.as_ref();
    let mesh = read_any(path)?;
    if let Some((i, v)) = mesh
        .vertices
        .chunks_exact(3)
        .enumerate()
        .find(|(_, v)| v.iter().any(|c| !c.is_finite()))
    {
        return Err(DataError::format(
            path,
            format!(
                "vertex {i} has a non-finite coordinate ({}, {}, {})",
                v[0], v[1], v[2]
            ),
        ));
    }
    Ok(mesh)
}

fn read_any(path: &Path) -> Result<Mesh> {
    if !path.is_file() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
            hint: "Meshes are read from .obj, .off, .ply and FreeSurfer surface files.".into(),
        });
    }
    let mut magic = [0u8; 3];
    let head = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        f.read(&mut magic).map_err(|e| DataError::io(path, e))?
    };
    if crate::freesurfer::is_freesurfer(&magic[..head]) {
        return crate::freesurfer::read_freesurfer(path);
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let named = |e: DataError| match e {
        DataError::Invalid(m) => DataError::format(path, m),
        other => other,
    };
    match ext.as_str() {
        "obj" => read_obj(path).map_err(named),
        "off" => read_off(path).map_err(named),
        "ply" => read_ply(path).map_err(named),
        other => Err(DataError::format(
            path,
            format!(
                "unknown mesh extension `.{other}` (expected .obj, .off, .ply or a FreeSurfer surface)"
            ),
        )),
    }
}

fn fan(polygon: &[u32], out: &mut Vec<u32>) {
    for k in 1..polygon.len().saturating_sub(1) {
        out.extend_from_slice(&[polygon[0], polygon[k], polygon[k + 1]]);
    }
}

fn read_obj(path: &Path) -> Result<Mesh> {
    let options = tobj::LoadOptions {
        triangulate: true,
        single_index: true,
        ..Default::default()
    };
    let (models, _materials) =
        tobj::load_obj(path, &options).map_err(|e| DataError::format(path, format!("OBJ: {e}")))?;
    let (mut vertices, mut faces) = (Vec::new(), Vec::new());
    for m in models {
        let base = (vertices.len() / 3) as u32;
        vertices.extend_from_slice(&m.mesh.positions);
        faces.extend(m.mesh.indices.iter().map(|i| i + base));
    }
    Mesh::new(vertices, faces)
}

fn read_off(path: &Path) -> Result<Mesh> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut tokens = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace);
    let header = tokens
        .next()
        .ok_or_else(|| DataError::format(path, "empty file"))?;
    if header != "OFF" {
        return Err(DataError::format(
            path,
            format!("expected the header `OFF`, found `{header}`"),
        ));
    }
    let mut token = |what: &str| -> Result<&str> {
        tokens
            .next()
            .ok_or_else(|| DataError::format(path, format!("truncated: expected {what}")))
    };
    fn parse<T: std::str::FromStr>(path: &Path, t: &str, what: &str) -> Result<T> {
        t.parse::<T>()
            .map_err(|_| DataError::format(path, format!("expected {what}, found `{t}`")))
    }
    let v: usize = parse(
        path,
        token("the vertex count")?,
        "the vertex count (an integer ≥ 0)",
    )?;
    let f: usize = parse(
        path,
        token("the face count")?,
        "the face count (an integer ≥ 0)",
    )?;
    let _edges: f64 = parse(path, token("the edge count")?, "the edge count")?;
    // counts come from the file: allocate no more than its tokens can fill (≥ 2 bytes each)
    let room = text.len() / 2;
    let mut vertices = Vec::with_capacity(v.saturating_mul(3).min(room));
    for i in 0..v {
        for _ in 0..3 {
            let what = format!("coordinates of vertex {i}");
            vertices.push(parse::<f64>(path, token(&what)?, &what)? as f32);
        }
    }
    let mut faces = Vec::with_capacity(f.saturating_mul(3).min(room));
    for i in 0..f {
        let what = format!("the size of face {i}");
        let k: usize = parse(path, token(&what)?, &what)?;
        let mut polygon = Vec::with_capacity(k.min(room));
        for _ in 0..k {
            let what = format!("an index of face {i} (an integer ≥ 0)");
            polygon.push(parse::<u32>(path, token(&what)?, &what)?);
        }
        fan(&polygon, &mut faces);
    }
    Mesh::new(vertices, faces)
}

fn scalar(p: &Property) -> Option<f64> {
    Some(match p {
        Property::Char(v) => *v as f64,
        Property::UChar(v) => *v as f64,
        Property::Short(v) => *v as f64,
        Property::UShort(v) => *v as f64,
        Property::Int(v) => *v as f64,
        Property::UInt(v) => *v as f64,
        Property::Float(v) => *v as f64,
        Property::Double(v) => *v,
        _ => return None,
    })
}

fn list(p: &Property) -> Option<Vec<u32>> {
    Some(match p {
        Property::ListChar(v) => v.iter().map(|&i| i as u32).collect(),
        Property::ListUChar(v) => v.iter().map(|&i| i as u32).collect(),
        Property::ListShort(v) => v.iter().map(|&i| i as u32).collect(),
        Property::ListUShort(v) => v.iter().map(|&i| i as u32).collect(),
        Property::ListInt(v) => v.iter().map(|&i| i as u32).collect(),
        Property::ListUInt(v) => v.clone(),
        _ => return None,
    })
}

fn read_ply(path: &Path) -> Result<Mesh> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    // ply-rs 0.1.3 unwraps its parse of header integers (`ply_grammar.rs`, `n.parse().unwrap()`),
    // so a count past u64::MAX panics inside it (found by `crates/fuzz`): caught, and reported
    // as the format error it is.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Parser::<DefaultElement>::new().read_ply(&mut reader)
    }))
    .map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("");
        DataError::format(path, format!("PLY: malformed file (ply-rs: {why})"))
    })?;
    let ply = parsed.map_err(|e| DataError::format(path, format!("PLY: {e}")))?;
    let vertex = ply
        .payload
        .get("vertex")
        .ok_or_else(|| DataError::format(path, "PLY without a `vertex` element"))?;
    let mut vertices = Vec::with_capacity(vertex.len() * 3);
    for (i, v) in vertex.iter().enumerate() {
        for axis in ["x", "y", "z"] {
            let value = v.get(axis).and_then(scalar).ok_or_else(|| {
                DataError::format(path, format!("vertex {i} has no numeric `{axis}` property"))
            })?;
            vertices.push(value as f32);
        }
    }
    let mut faces = Vec::new();
    if let Some(face) = ply.payload.get("face") {
        for (i, f) in face.iter().enumerate() {
            let polygon = f
                .get("vertex_indices")
                .or_else(|| f.get("vertex_index"))
                .and_then(list)
                .ok_or_else(|| {
                    DataError::format(path, format!("face {i} has no `vertex_indices` list"))
                })?;
            fan(&polygon, &mut faces);
        }
    }
    Mesh::new(vertices, faces)
}

/// Writes a mesh as OBJ text (`v x y z`, `f i j k`, 1-based).
pub fn write_obj(path: impl AsRef<Path>, mesh: &Mesh) -> Result<()> {
    let path = path.as_ref();
    let mut out = String::with_capacity(mesh.vertices.len() * 12 + mesh.faces.len() * 8);
    out.push_str("# written by swburn\n");
    for v in mesh.vertices.chunks_exact(3) {
        out.push_str(&format!("v {} {} {}\n", v[0], v[1], v[2]));
    }
    for f in mesh.faces.chunks_exact(3) {
        out.push_str(&format!("f {} {} {}\n", f[0] + 1, f[1] + 1, f[2] + 1));
    }
    std::fs::write(path, out).map_err(|e| DataError::io(path, e))
}

/// Writes a mesh as binary little-endian PLY (float x y z; uchar-count int index lists).
pub fn write_ply(path: impl AsRef<Path>, mesh: &Mesh) -> Result<()> {
    let path = path.as_ref();
    let mut out = Vec::new();
    write!(
        out,
        "ply\nformat binary_little_endian 1.0\ncomment written by swburn\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.num_vertices(),
        mesh.num_faces()
    )
    .expect("writing to memory");
    for v in &mesh.vertices {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for f in mesh.faces.chunks_exact(3) {
        out.push(3);
        for &i in f {
            out.extend_from_slice(&(i as i32).to_le_bytes());
        }
    }
    std::fs::write(path, out).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic_mesh::icosphere;

    #[test]
    fn round_trips_and_polygons() {
        let dir = tempfile::tempdir().unwrap();
        let mesh = icosphere(2);
        for name in ["m.obj", "m.ply"] {
            let p = dir.path().join(name);
            if name.ends_with("obj") {
                write_obj(&p, &mesh).unwrap()
            } else {
                write_ply(&p, &mesh).unwrap()
            }
            let back = read_mesh(&p).unwrap();
            // The same triangles with the same corners (a reader may renumber vertices).
            let corners = |m: &Mesh| -> Vec<f32> {
                m.faces
                    .iter()
                    .flat_map(|&i| m.vertices[3 * i as usize..3 * i as usize + 3].to_vec())
                    .collect()
            };
            assert_eq!(back.num_faces(), mesh.num_faces(), "{name}");
            assert!(
                corners(&back)
                    .iter()
                    .zip(corners(&mesh))
                    .all(|(a, b)| (a - b).abs() < 1e-6),
                "{name}"
            );
        }
        // A unit square as one quad, in OFF and ASCII PLY: two triangles of area 1/2.
        let off = dir.path().join("q.off");
        std::fs::write(
            &off,
            "OFF\n# a quad\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n",
        )
        .unwrap();
        let ply = dir.path().join("q.ply");
        std::fs::write(&ply, "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n").unwrap();
        for p in [off, ply] {
            let m = read_mesh(&p).unwrap();
            assert_eq!(m.faces, vec![0, 1, 2, 0, 2, 3]);
            assert_eq!(m.face_areas(), vec![0.5, 0.5]);
            assert_eq!(&m.face_normals()[..3], &[0.0, 0.0, 1.0]);
        }
    }

    /// `crates/fuzz` (mesh_ply, input 505, minimised): ply-rs panicked on this element count.
    #[test]
    fn a_ply_count_past_u64_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let ply = dir.path().join("count.ply");
        std::fs::write(
            &ply,
            b"ply\nformat binary_little_endian 1.0\ncomment\nelement x 18446744073709551616",
        )
        .unwrap();
        let e = read_mesh(&ply).unwrap_err().to_string();
        assert!(
            e.contains("count.ply") && e.contains("PLY: malformed file"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path().join("bad.obj");
        std::fs::write(&obj, "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 7\n").unwrap();
        let e = read_mesh(&obj).unwrap_err().to_string();
        assert!(e.contains("bad.obj"), "{e}");
        let ply = dir.path().join("bad.ply");
        std::fs::write(
            &ply,
            "ply\nformat ascii 1.0\nelement vertex 1\nproperty floot x\nend_header\n0\n",
        )
        .unwrap();
        let e = read_mesh(&ply).unwrap_err().to_string();
        assert!(e.contains("bad.ply") && e.contains("PLY"), "{e}");
        let off = dir.path().join("bad.off");
        std::fs::write(&off, "OFF\n3 1 0\n0 0 0\n1 0 0\n").unwrap();
        let e = read_mesh(&off).unwrap_err().to_string();
        assert!(e.contains("bad.off") && e.contains("truncated"), "{e}");
        // counts and indices are integers; a huge count is an error, not an allocation
        for (text, want) in [
            ("OFF\n1e30 1 0\n", "vertex count"),
            ("OFF\n-3 1 0\n", "vertex count"),
            ("OFF\n3 2.5 0\n", "face count"),
            ("OFF\n18446744073709551615 0 0\n0 0 0\n", "truncated"),
            (
                "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 -2\n",
                "an index of face 0",
            ),
            (
                "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n99999999999 0 1 2\n",
                "truncated",
            ),
        ] {
            std::fs::write(&off, text).unwrap();
            let e = read_mesh(&off).unwrap_err().to_string();
            assert!(e.contains("bad.off") && e.contains(want), "{text:?}: {e}");
        }
        std::fs::write(&off, "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n").unwrap();
        let e = read_mesh(&off).unwrap_err().to_string();
        assert!(
            e.contains("bad.off") && e.contains("references vertex 5"),
            "{e}"
        );
        assert!(
            read_mesh(dir.path().join("m.stl"))
                .unwrap_err()
                .to_string()
                .contains("not found")
        );
        // A NaN vertex is named, in every format.
        std::fs::write(&obj, "v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n").unwrap();
        std::fs::write(&off, "OFF\n3 1 0\n0 0 0\n1 0 0\n0 NaN 1\n3 0 1 2\n").unwrap();
        let nan_mesh = Mesh::new(
            vec![0., 0., 0., 1., 0., 0., f32::INFINITY, 1., 0.],
            vec![0, 1, 2],
        )
        .unwrap();
        write_ply(&ply, &nan_mesh).unwrap();
        let mut fs =
            std::fs::read(crate::crate_file("tests/data/freesurfer_octahedron.white")).unwrap();
        // Vertex 3's y: header (3 magic + 33 stamp + 2 newlines + 8 counts), 12 bytes a vertex.
        let at = 3 + "created by swburn fixture script".len() + 2 + 8 + 3 * 12 + 4;
        fs[at..at + 4].copy_from_slice(&f32::NAN.to_be_bytes());
        let white = dir.path().join("lh.white");
        std::fs::write(&white, fs).unwrap();
        for (p, vertex) in [(&obj, 1), (&off, 2), (&ply, 2), (&white, 3)] {
            let e = read_mesh(p).unwrap_err().to_string();
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(
                e.contains(name) && e.contains(&format!("vertex {vertex} has a non-finite")),
                "{e}"
            );
        }
    }
}
