//! `ply::read_cloud` on the binary little-endian point clouds `ply::write_cloud` writes.

use std::path::Path;

use datasets::PointCloud;
use datasets::ply::{read_cloud, write_cloud};

use super::{message, written};
use crate::target::{Target, no_fixup, no_setup};

/// `read_cloud` on a `.ply`.
pub const CLOUD: Target = Target {
    name: "ply_cloud",
    reader: "ply::read_cloud",
    file_name: "cloud.ply",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read,
    seeds,
};

fn read(path: &Path) -> Result<(), String> {
    read_cloud(path).map(|_| ()).map_err(message)
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let cloud = |n: usize| PointCloud::new((0..3 * n).map(|i| i as f32 * 0.5 - 3.0).collect());
    vec![
        (
            "cloud_16.ply".into(),
            written("c16.ply", |p| write_cloud(p, &cloud(16))),
        ),
        (
            "cloud_1.ply".into(),
            written("c1.ply", |p| write_cloud(p, &cloud(1))),
        ),
    ]
}
