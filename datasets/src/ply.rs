//! PLY output of point clouds (binary little-endian, `float x, y, z` per vertex), readable by
//! MeshLab, Open3D and Blender. Written by hand: the header is four lines and the body a
//! flat f32 array, which needs no PLY library.

use std::io::Write;
use std::path::Path;

use crate::cloud::PointCloud;
use crate::error::{DataError, Result};

/// Writes `cloud` to `path` as binary little-endian PLY.
pub fn write_cloud(path: impl AsRef<Path>, cloud: &PointCloud) -> Result<()> {
    let path = path.as_ref();
    let mut out = Vec::with_capacity(128 + cloud.points.len() * 4);
    write!(
        out,
        "ply\nformat binary_little_endian 1.0\ncomment written by swburn\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
        cloud.len()
    )
    .expect("writing to memory");
    for v in &cloud.points {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).map_err(|e| DataError::io(path, e))
}

/// Reads a PLY written by [`write_cloud`] (binary little-endian, float x y z only).
pub fn read_cloud(path: impl AsRef<Path>) -> Result<PointCloud> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let end = bytes
        .windows(11)
        .position(|w| w == b"end_header\n")
        .ok_or_else(|| DataError::format(path, "no `end_header` line: not a PLY file"))?;
    let header = std::str::from_utf8(&bytes[..end])
        .map_err(|_| DataError::format(path, "the header is not text"))?;
    if !header.starts_with("ply\n") || !header.contains("format binary_little_endian 1.0") {
        return Err(DataError::format(
            path,
            "only binary little-endian PLY point clouds are read here",
        ));
    }
    let n: usize = header
        .lines()
        .find_map(|l| l.strip_prefix("element vertex "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| DataError::format(path, "no `element vertex N` line"))?;
    let body = &bytes[end + 11..];
    if body.len() < n * 12 {
        return Err(DataError::format(
            path,
            format!(
                "truncated: {n} vertices need {} bytes, found {}",
                n * 12,
                body.len()
            ),
        ));
    }
    let points = body[..n * 12]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(PointCloud::new(points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ply");
        let cloud = PointCloud::new(vec![0.0, 1.5, -2.0, 3.25, 4.0, 5.0]);
        write_cloud(&path, &cloud).unwrap();
        assert_eq!(read_cloud(&path).unwrap(), cloud);
        std::fs::write(&path, b"ply\nformat ascii 1.0\nend_header\n").unwrap();
        assert!(
            read_cloud(&path)
                .unwrap_err()
                .to_string()
                .contains("binary little-endian")
        );
    }
}
