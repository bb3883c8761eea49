//! All spectral operators of one mesh, cached on disk.
//!
//! The cache file is `<dir>/<sha256(vertices, faces, K)>.spec` (the official code keys its
//! `.npz` cache by a SHA-1 of vertices and faces, `get_operators`). Layout, little-endian:
//! `b"SWBSPEC1"`, V, K, width (u64), mass `[V]`, evals `[K]`, evecs `[V, K]` (f64),
//! gradient indices `[V, width]` (u32), gradient x and y `[V, width]` (f64). A file that does
//! not parse, or whose sizes do not match the mesh, is recomputed and replaced; a cache that
//! cannot be written is reported as an error naming the file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::dense_eigen::Eigenbasis;
use super::eigen::generalized_eigenpairs;
use super::gradient::{GradientOperator, gradient_operator, tangent_frames, vertex_normals};
use super::laplacian::{cotangent_laplacian, lumped_mass};
use super::wks::{WKS_COUNT, wave_kernel_signature};
use crate::error::{DataError, Result};
use crate::mesh::Mesh;

const MAGIC: &[u8; 8] = b"SWBSPEC1";

/// Mass, eigenbasis and gradient operator of a mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralOperators {
    /// Lumped mass `[V]`.
    pub mass: Vec<f64>,
    /// The first K eigenpairs.
    pub basis: Eigenbasis,
    /// DiffusionNet's gradient operator.
    pub gradient: GradientOperator,
}

impl SpectralOperators {
    /// Computes everything for `mesh` with `k` eigenpairs.
    pub fn compute(mesh: &Mesh, k: usize) -> Result<Self> {
        let laplacian = cotangent_laplacian(mesh)?;
        let mass = lumped_mass(mesh)?;
        let basis = generalized_eigenpairs(&laplacian, &mass, k)?;
        let frames = tangent_frames(&vertex_normals(mesh)?);
        let gradient = gradient_operator(mesh, &laplacian, &frames);
        Ok(Self {
            mass,
            basis,
            gradient,
        })
    }

    /// The official WKS input `[V, 128]`.
    pub fn wks(&self) -> Result<Vec<f64>> {
        wave_kernel_signature(&self.basis, &self.mass, WKS_COUNT)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let (v, k, w) = (self.basis.num_vertices, self.basis.k(), self.gradient.width);
        for n in [v, k, w] {
            out.extend((n as u64).to_le_bytes());
        }
        for x in self
            .mass
            .iter()
            .chain(&self.basis.evals)
            .chain(&self.basis.evecs)
        {
            out.extend(x.to_le_bytes());
        }
        for i in &self.gradient.indices {
            out.extend(i.to_le_bytes());
        }
        for x in self.gradient.x.iter().chain(&self.gradient.y) {
            out.extend(x.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8], num_vertices: usize, k: usize) -> Option<Self> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let mut words = rest.chunks_exact(8);
        let mut u = || {
            words
                .next()
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
        };
        let (v, kk, w) = (u()?, u()?, u()?);
        if v != num_vertices || kk != k || w == 0 {
            return None;
        }
        // sizes come from the file: checked, so a corrupt header is a cache miss, not an overflow
        let vw = v.checked_mul(w)?;
        let floats = v.checked_mul(k)?.checked_add(v + k)?;
        let need = 8usize
            .checked_mul(floats)?
            .checked_add(vw.checked_mul(20)?)?
            .checked_add(24)?;
        if rest.len() != need {
            return None;
        }
        let f64s = |b: &[u8]| -> Vec<f64> {
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        let body = &rest[24..];
        let (fl, body) = body.split_at(8 * floats);
        let (idx, body) = body.split_at(4 * v * w);
        let fl = f64s(fl);
        let indices: Vec<u32> = idx
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if indices.iter().any(|&i| i as usize >= v) || fl.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let gw = f64s(body);
        Some(Self {
            mass: fl[..v].to_vec(),
            basis: Eigenbasis {
                evals: fl[v..v + k].to_vec(),
                evecs: fl[v + k..].to_vec(),
                num_vertices: v,
            },
            gradient: GradientOperator {
                width: w,
                indices,
                x: gw[..v * w].to_vec(),
                y: gw[v * w..].to_vec(),
            },
        })
    }
}

/// The cache file of `mesh` with `k` eigenpairs inside `dir`.
pub fn cache_path(dir: &Path, mesh: &Mesh, k: usize) -> PathBuf {
    let mut h = Sha256::new();
    for x in &mesh.vertices {
        h.update(x.to_le_bytes());
    }
    for f in &mesh.faces {
        h.update(f.to_le_bytes());
    }
    h.update((k as u64).to_le_bytes());
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("{hex}.spec"))
}

/// Reads the operators from the cache in `dir`, or computes and writes them.
/// `dir = None` computes without caching.
pub fn load_or_compute(mesh: &Mesh, k: usize, dir: Option<&Path>) -> Result<SpectralOperators> {
    let Some(dir) = dir else {
        return SpectralOperators::compute(mesh, k);
    };
    let path = cache_path(dir, mesh, k);
    if let Ok(mut file) = std::fs::File::open(&path) {
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_ok()
            && let Some(ops) = SpectralOperators::decode(&bytes, mesh.num_vertices(), k)
        {
            return Ok(ops);
        }
    }
    let ops = SpectralOperators::compute(mesh, k)?;
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let tmp = path.with_extension("spec.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    file.write_all(&ops.encode())
        .map_err(|e| DataError::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| DataError::io(&path, e))?;
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trips_and_is_keyed_by_mesh_and_k() {
        let dir = tempfile::tempdir().unwrap();
        let mesh = crate::synthetic_mesh::icosphere(1);
        let a = load_or_compute(&mesh, 10, Some(dir.path())).unwrap();
        let path = cache_path(dir.path(), &mesh, 10);
        assert!(path.exists());
        let b = load_or_compute(&mesh, 10, Some(dir.path())).unwrap();
        assert_eq!(a, b);
        assert_ne!(path, cache_path(dir.path(), &mesh, 11));
        let mut moved = mesh.clone();
        moved.vertices[0] += 1e-3;
        assert_ne!(path, cache_path(dir.path(), &moved, 10));
        // a corrupt cache file is recomputed, not trusted
        std::fs::write(&path, b"SWBSPEC1garbage").unwrap();
        let c = load_or_compute(&mesh, 10, Some(dir.path())).unwrap();
        assert_eq!(a, c);
        // a header whose width would overflow the size computation is a miss, not a panic
        let mut header = MAGIC.to_vec();
        for n in [mesh.num_vertices() as u64, 10, u64::MAX / 3] {
            header.extend(n.to_le_bytes());
        }
        header.extend([0u8; 64]);
        std::fs::write(&path, &header).unwrap();
        let d = load_or_compute(&mesh, 10, Some(dir.path())).unwrap();
        assert_eq!(a, d);
    }
}
