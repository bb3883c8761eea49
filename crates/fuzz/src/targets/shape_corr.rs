//! `shape_corr::read_dist_mat` on MATLAB v5 files (`matfile`) and `shape_corr::read_vts`.

use std::path::Path;

use datasets::shape_corr::{read_dist_mat, read_vts};

use super::{fixture, message};
use crate::target::{Target, no_fixup, no_setup};

/// Vertices of the mesh the `.vts` inputs index.
const VTS_VERTICES: usize = 40;

/// `read_dist_mat(_, 3)` on a `.mat`.
pub const DIST_MAT: Target = Target {
    name: "dist_mat",
    reader: "shape_corr::read_dist_mat",
    file_name: "dist.mat",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read_mat,
    seeds: mat_seeds,
};

/// `read_vts(_, 40)` on a `.vts`.
pub const VTS: Target = Target {
    name: "vts",
    reader: "shape_corr::read_vts",
    file_name: "shape.vts",
    text: true,
    setup: no_setup,
    fixup: no_fixup,
    run: read_corr,
    seeds: vts_seeds,
};

fn read_mat(path: &Path) -> Result<(), String> {
    read_dist_mat(path, 3).map(|_| ()).map_err(message)
}

fn read_corr(path: &Path) -> Result<(), String> {
    read_vts(path, VTS_VERTICES).map(|_| ()).map_err(message)
}

/// The scipy-written 3 × 3 fixture.
fn mat_seeds() -> Vec<(String, Vec<u8>)> {
    vec![("scipy_dist_3x3.mat".into(), fixture("dist_3x3.mat"))]
}

fn vts_seeds() -> Vec<(String, Vec<u8>)> {
    let reversed: String = (1..=VTS_VERTICES).rev().map(|i| format!("{i}\n")).collect();
    let scattered: String = (0..25)
        .map(|k| format!("{} ", 1 + (k * 7) % VTS_VERTICES))
        .collect();
    vec![
        ("reversed_40.vts".into(), reversed.into_bytes()),
        ("scattered_25.vts".into(), scattered.into_bytes()),
    ]
}
