//! The spectral-operator cache: a mutated `.spec` file is put where `cache_path` looks for it
//! (for a fixed 12-vertex icosphere and K = 4) and `load_or_compute` must load it or reject
//! and recompute it — never panic, never return operators of the wrong size.

use std::path::Path;

use datasets::Mesh;
use datasets::geometry::load_or_compute;
use datasets::geometry::operators::cache_path;
use datasets::synthetic_mesh::icosphere;

use super::message;
use crate::target::{Target, no_fixup, no_setup};

/// Eigenpairs of the cached operators.
const K: usize = 4;

/// `load_or_compute` on a cache file.
pub const CACHE: Target = Target {
    name: "operator_cache",
    reader: "geometry::operators::load_or_compute (.spec cache)",
    file_name: "input.spec",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: load,
    seeds,
};

fn mesh() -> Mesh {
    icosphere(0)
}

/// `Ok` when the file was loaded as is, `Err` when it was rejected (and so recomputed and
/// replaced); a loaded result whose sizes do not fit the mesh is a bug, reported as a panic.
fn load(path: &Path) -> Result<(), String> {
    let dir = path.parent().ok_or("no parent folder")?;
    let mesh = mesh();
    let cache = cache_path(dir, &mesh, K);
    std::fs::rename(path, &cache).map_err(|e| e.to_string())?;
    let input = std::fs::read(&cache).map_err(|e| e.to_string())?;
    let ops = load_or_compute(&mesh, K, Some(dir)).map_err(message)?;
    let v = mesh.num_vertices();
    let w = ops.gradient.width;
    assert!(
        ops.mass.len() == v
            && ops.basis.evals.len() == K
            && ops.basis.evecs.len() == v * K
            && ops.gradient.indices.len() == v * w
            && ops.gradient.x.len() == v * w
            && ops.gradient.y.len() == v * w,
        "load_or_compute returned operators whose sizes do not fit a {v}-vertex mesh with K = {K}"
    );
    let after = std::fs::read(&cache).map_err(|e| e.to_string())?;
    if after == input {
        Ok(())
    } else {
        Err("cache file rejected: recomputed and replaced".into())
    }
}

/// The cache file `load_or_compute` writes for the mesh.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = std::env::temp_dir().join(format!("swburn-fuzz-seed-ops-{}", std::process::id()));
    let mesh = mesh();
    load_or_compute(&mesh, K, Some(&dir))
        .unwrap_or_else(|e| panic!("computing the operators: {e}"));
    let bytes = std::fs::read(cache_path(&dir, &mesh, K)).expect("reading the cache file");
    let _ = std::fs::remove_dir_all(&dir);
    vec![("icosphere0_k4.spec".into(), bytes)]
}
