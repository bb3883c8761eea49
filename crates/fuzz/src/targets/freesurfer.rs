//! `freesurfer::read_freesurfer` on FreeSurfer binary triangle surfaces.

use std::path::Path;

use datasets::freesurfer::{TRIANGLE_MAGIC, read_freesurfer};
use datasets::synthetic_mesh::icosphere;

use super::{fixture, message};
use crate::target::{Target, no_fixup, no_setup};

/// `read_freesurfer` on an `lh.white`.
pub const SURFACE: Target = Target {
    name: "freesurfer",
    reader: "freesurfer::read_freesurfer",
    file_name: "lh.white",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read,
    seeds,
};

fn read(path: &Path) -> Result<(), String> {
    read_freesurfer(path).map(|_| ()).map_err(message)
}

/// The nibabel-written octahedron fixture, and an icosphere in the same layout (magic, stamp,
/// blank line, big-endian counts, coordinates and indices; see `datasets::freesurfer`).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mesh = icosphere(0);
    let mut out = TRIANGLE_MAGIC.to_vec();
    out.extend(b"created by swburn fuzz corpus\n\n");
    out.extend((mesh.num_vertices() as i32).to_be_bytes());
    out.extend((mesh.num_faces() as i32).to_be_bytes());
    for c in &mesh.vertices {
        out.extend(c.to_be_bytes());
    }
    for &i in &mesh.faces {
        out.extend((i as i32).to_be_bytes());
    }
    vec![
        (
            "nibabel_octahedron.white".into(),
            fixture("freesurfer_octahedron.white"),
        ),
        ("icosphere0.white".into(), out),
    ]
}
