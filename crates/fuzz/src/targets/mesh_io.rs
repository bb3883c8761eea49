//! `mesh_io::read_mesh` on `.obj` (`tobj`), `.ply` (`ply-rs`) and `.off` (by hand) files.

use std::path::Path;

use datasets::mesh_io::{read_mesh, write_obj, write_ply};
use datasets::synthetic_mesh::icosphere;

use super::{message, written};
use crate::target::{Target, no_fixup, no_setup};

/// `read_mesh` on an `.obj`.
pub const OBJ: Target = Target {
    name: "mesh_obj",
    reader: "mesh_io::read_mesh (.obj)",
    file_name: "input.obj",
    text: true,
    setup: no_setup,
    fixup: no_fixup,
    run: read,
    seeds: obj_seeds,
};

/// `read_mesh` on a `.ply` (ASCII or binary).
pub const PLY: Target = Target {
    name: "mesh_ply",
    reader: "mesh_io::read_mesh (.ply)",
    file_name: "input.ply",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read,
    seeds: ply_seeds,
};

/// `read_mesh` on an `.off`.
pub const OFF: Target = Target {
    name: "mesh_off",
    reader: "mesh_io::read_mesh (.off)",
    file_name: "input.off",
    text: true,
    setup: no_setup,
    fixup: no_fixup,
    run: read,
    seeds: off_seeds,
};

fn read(path: &Path) -> Result<(), String> {
    read_mesh(path).map(|_| ()).map_err(message)
}

fn obj_seeds() -> Vec<(String, Vec<u8>)> {
    vec![
        ("icosphere0.obj".into(), written("s.obj", |p| write_obj(p, &icosphere(0)))),
        (
            "two_objects_quad_normals.obj".into(),
            b"# two objects, a quad, normals and texture coordinates\no square\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf 1/1/1 2/2/1 3/3/1 4/4/1\no triangle\nv 0 0 1\nv 1 0 1\nv 0 1 1\nf -3 -2 -1\n".to_vec(),
        ),
    ]
}

fn ply_seeds() -> Vec<(String, Vec<u8>)> {
    vec![
        ("icosphere0_binary_le.ply".into(), written("s.ply", |p| write_ply(p, &icosphere(0)))),
        (
            "quad_ascii.ply".into(),
            b"ply\nformat ascii 1.0\ncomment a unit square as one quad\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0 255\n1 0 0 0\n1 1 0 9\n0 1 0 1\n4 0 1 2 3\n".to_vec(),
        ),
        (
            "tetra_binary_be_double.ply".into(),
            binary_be_tetrahedron(),
        ),
    ]
}

/// A tetrahedron as big-endian binary PLY with double coordinates and ushort-count uint lists.
fn binary_be_tetrahedron() -> Vec<u8> {
    let mut out = b"ply\nformat binary_big_endian 1.0\nelement vertex 4\nproperty double x\nproperty double y\nproperty double z\nelement face 4\nproperty list ushort uint vertex_index\nend_header\n".to_vec();
    for v in [
        [0.0f64, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
    ] {
        for c in v {
            out.extend(c.to_be_bytes());
        }
    }
    for f in [[0u32, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]] {
        out.extend(3u16.to_be_bytes());
        for i in f {
            out.extend(i.to_be_bytes());
        }
    }
    out
}

fn off_seeds() -> Vec<(String, Vec<u8>)> {
    let mesh = icosphere(0);
    let mut off = format!(
        "OFF\n# icosphere(0)\n{} {} 0\n",
        mesh.num_vertices(),
        mesh.num_faces()
    );
    for v in mesh.vertices.chunks_exact(3) {
        off.push_str(&format!("{} {} {}\n", v[0], v[1], v[2]));
    }
    for f in mesh.faces.chunks_exact(3) {
        off.push_str(&format!("3 {} {} {}\n", f[0], f[1], f[2]));
    }
    vec![
        ("icosphere0.off".into(), off.into_bytes()),
        (
            "quad_and_pentagon.off".into(),
            b"OFF\n6 2 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n-0.5 0.5 0 # comment after a vertex\n0.5 2 0\n4 0 1 2 3\n5 0 3 5 2 4\n".to_vec(),
        ),
    ]
}
