//! A mesh pair coloured by correspondence, as ASCII PLY with per-vertex colours: the source
//! is coloured by its normalised coordinates, each target vertex takes the colour of the
//! source vertex it is mapped to (the official texture-transfer picture, with colours
//! instead of a texture).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::mesh::Mesh;

/// RGB per vertex `[V]` from the bounding box of the mesh: `(p − min) / (max − min)`.
pub fn coordinate_colors(mesh: &Mesh) -> Vec<[u8; 3]> {
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in mesh.vertices.chunks_exact(3) {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    mesh.vertices
        .chunks_exact(3)
        .map(|p| {
            [0, 1, 2].map(|k| (255.0 * (p[k] - lo[k]) / (hi[k] - lo[k]).max(1e-12)).round() as u8)
        })
        .collect()
}

/// Writes `mesh` with per-vertex colours as ASCII PLY.
pub fn write_colored_ply(path: &Path, mesh: &Mesh, colors: &[[u8; 3]]) -> Result<()> {
    if colors.len() != mesh.num_vertices() {
        return Err(DataError::Invalid(format!(
            "{} colours for {} vertices",
            colors.len(),
            mesh.num_vertices()
        )));
    }
    let mut out = format!(
        "ply\nformat ascii 1.0\ncomment written by swburn\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.num_vertices(),
        mesh.num_faces()
    );
    for (p, c) in mesh.vertices.chunks_exact(3).zip(colors) {
        writeln!(out, "{} {} {} {} {} {}", p[0], p[1], p[2], c[0], c[1], c[2]).expect("string");
    }
    for f in mesh.faces.chunks_exact(3) {
        writeln!(out, "3 {} {} {}", f[0], f[1], f[2]).expect("string");
    }
    std::fs::write(path, out).map_err(|e| DataError::io(path, e))
}

/// Writes the source coloured by coordinates and the target coloured through `p2p`
/// (`[Vy]`, y → x).
pub fn write_correspondence_pair(
    source_path: &Path,
    target_path: &Path,
    source: &Mesh,
    target: &Mesh,
    p2p: &[usize],
) -> Result<()> {
    let colors = coordinate_colors(source);
    if p2p.len() != target.num_vertices() || p2p.iter().any(|&i| i >= colors.len()) {
        return Err(DataError::Invalid(format!(
            "the point map has {} entries for a {}-vertex target, or an index past the {}-vertex source",
            p2p.len(),
            target.num_vertices(),
            colors.len()
        )));
    }
    write_colored_ply(source_path, source, &colors)?;
    let mapped: Vec<[u8; 3]> = p2p.iter().map(|&i| colors[i]).collect();
    write_colored_ply(target_path, target, &mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colored_ply_reads_back_with_ply_rs() {
        let dir = tempfile::tempdir().unwrap();
        let mesh = crate::synthetic_mesh::icosphere(1);
        let (a, b) = (dir.path().join("a.ply"), dir.path().join("b.ply"));
        let p2p: Vec<usize> = (0..mesh.num_vertices()).rev().collect();
        write_correspondence_pair(&a, &b, &mesh, &mesh, &p2p).unwrap();
        let back = crate::mesh_io::read_mesh(&b).unwrap();
        assert_eq!(back.faces, mesh.faces);
        let text = std::fs::read_to_string(&b).unwrap();
        let colors = coordinate_colors(&mesh);
        let last = colors[mesh.num_vertices() - 1];
        let first_vertex_line = text
            .lines()
            .skip_while(|l| *l != "end_header")
            .nth(1)
            .unwrap();
        assert!(first_vertex_line.ends_with(&format!("{} {} {}", last[0], last[1], last[2])));
        assert!(write_correspondence_pair(&a, &b, &mesh, &mesh, &[0]).is_err());
    }
}
