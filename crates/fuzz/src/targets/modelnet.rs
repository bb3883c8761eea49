//! `modelnet::read_h5` on PointNet-layout HDF5 files (read with `hdf5-pure`).

use std::path::Path;

use super::{fixture, message};
use crate::target::{Target, no_fixup, no_setup};

/// `read_h5` on a `ply_data_test0.h5`.
pub const H5: Target = Target {
    name: "modelnet_h5",
    reader: "modelnet::read_h5",
    file_name: "ply_data_test0.h5",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read_h5,
    seeds,
};

fn read_h5(path: &Path) -> Result<(), String> {
    datasets::modelnet::read_h5(path)
        .map(|_| ())
        .map_err(message)
}

/// The three h5py-written fixtures of `datasets/tests/data`, and one file in each of
/// `hdf5-pure`'s own layouts (contiguous f64 + i64 labels; chunked + deflate + shuffle).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let values: Vec<f64> = (0..2 * 6 * 3).map(|i| i as f64 * 0.125 - 2.0).collect();
    let mut contiguous = hdf5_pure::FileBuilder::new();
    contiguous
        .create_dataset("data")
        .with_f64_data(&values)
        .with_shape(&[2, 6, 3]);
    contiguous
        .create_dataset("label")
        .with_i64_data(&[3, 17])
        .with_shape(&[2]);
    let values32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    let mut chunked = hdf5_pure::FileBuilder::new();
    chunked
        .create_dataset("data")
        .with_f32_data(&values32)
        .with_shape(&[2, 6, 3])
        .with_chunks(&[1, 6, 3])
        .with_shuffle()
        .with_deflate(4);
    chunked
        .create_dataset("label")
        .with_u8_data(&[39, 0])
        .with_shape(&[2, 1]);
    vec![
        ("h5py_3x16.h5".into(), fixture("ply_data_test0.h5")),
        (
            "h5py_contiguous_5x32.h5".into(),
            fixture("modelnet_layouts/contiguous/ply_data_test0.h5"),
        ),
        (
            "h5py_chunked_gzip_5x32.h5".into(),
            fixture("modelnet_layouts/chunked_gzip/ply_data_test0.h5"),
        ),
        (
            "hdf5pure_f64_i64.h5".into(),
            contiguous.finish().expect("writing HDF5"),
        ),
        (
            "hdf5pure_chunked_deflate.h5".into(),
            chunked.finish().expect("writing HDF5"),
        ),
    ]
}
