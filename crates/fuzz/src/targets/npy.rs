//! `npy::read_clouds` on `.npy` and `.npz` files and `npy::read_npz_f64` (the FID statistics).

use std::io::Cursor;
use std::path::Path;

use npyz::WriterBuilder;

use super::message;
use crate::target::{Target, no_fixup, no_setup};

/// `read_clouds` on a `.npy` file.
pub const NPY_CLOUDS: Target = Target {
    name: "npy_clouds",
    reader: "npy::read_clouds (.npy)",
    file_name: "input.npy",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read_clouds,
    seeds: npy_seeds,
};

/// `read_clouds` on a `.npz` archive (entry `data`).
pub const NPZ_CLOUDS: Target = Target {
    name: "npz_clouds",
    reader: "npy::read_clouds (.npz)",
    file_name: "input.npz",
    text: false,
    setup: no_setup,
    fixup: crate::fixup::zip,
    run: read_clouds,
    seeds: npz_cloud_seeds,
};

/// `read_npz_f64(path, "mu")`, as the FID statistics are read.
pub const NPZ_F64: Target = Target {
    name: "npz_f64",
    reader: "npy::read_npz_f64",
    file_name: "input.npz",
    text: false,
    setup: no_setup,
    fixup: crate::fixup::zip,
    run: read_npz_f64,
    seeds: npz_f64_seeds,
};

/// Reads the array and its first and last cloud; an array whose counts do not match its
/// values would make `cloud` slice out of range later, so it is reported as a panic here.
fn read_clouds(path: &Path) -> Result<(), String> {
    let a = datasets::npy::read_clouds(path).map_err(message)?;
    assert_eq!(
        a.count.checked_mul(a.points).and_then(|n| n.checked_mul(3)),
        Some(a.values.len()),
        "read_clouds returned {} values for {} clouds of {} points",
        a.values.len(),
        a.count,
        a.points
    );
    if a.count > 0 {
        a.cloud(0).map_err(message)?;
        a.cloud(a.count - 1).map_err(message)?;
    }
    Ok(())
}

fn read_npz_f64(path: &Path) -> Result<(), String> {
    datasets::npy::read_npz_f64(path, "mu")
        .map(|_| ())
        .map_err(message)
}

/// Coordinate k of point j of cloud i: distinct, finite, a few digits.
fn value(i: usize, j: usize, k: usize) -> f64 {
    (i as f64) + 0.01 * j as f64 - 0.5 * k as f64
}

/// The values of an `(n, p, 3)` array in storage order (`order`).
fn ordered(shape: [usize; 3], order: npyz::Order) -> Vec<f64> {
    let [n, p, d] = shape;
    let mut values = Vec::with_capacity(n * p * d);
    match order {
        npyz::Order::C => {
            for i in 0..n {
                for j in 0..p {
                    for k in 0..d {
                        values.push(value(i, j, k));
                    }
                }
            }
        }
        npyz::Order::Fortran => {
            for k in 0..d {
                for j in 0..p {
                    for i in 0..n {
                        values.push(value(i, j, k));
                    }
                }
            }
        }
    }
    values
}

fn dims(shape: [usize; 3]) -> [u64; 3] {
    shape.map(|d| d as u64)
}

/// The `.npy` bytes of [`ordered`]'s values as `T` (f32 or f64), as npyz writes them.
fn npy<T: npyz::AutoSerialize>(
    shape: [usize; 3],
    order: npyz::Order,
    cast: fn(f64) -> T,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&dims(shape))
        .order(order)
        .writer(&mut out)
        .begin_nd()
        .expect("npy header");
    w.extend(ordered(shape, order).into_iter().map(cast))
        .expect("npy values");
    w.finish().expect("npy end");
    out
}

fn npy_f32(shape: [usize; 3], order: npyz::Order) -> Vec<u8> {
    npy(shape, order, |v| v as f32)
}

fn npy_f64(shape: [usize; 3], order: npyz::Order) -> Vec<u8> {
    npy(shape, order, |v| v)
}

fn npy_seeds() -> Vec<(String, Vec<u8>)> {
    vec![
        ("f32_c_2x32.npy".into(), npy_f32([2, 32, 3], npyz::Order::C)),
        (
            "f64_fortran_3x8.npy".into(),
            npy_f64([3, 8, 3], npyz::Order::Fortran),
        ),
        (
            "f32_fortran_1x5.npy".into(),
            npy_f32([1, 5, 3], npyz::Order::Fortran),
        ),
    ]
}

/// An archive holding `(name, shape)` arrays of f32 (`f64s = false`) or f64, in C order.
fn npz_bytes(entries: &[(&str, [usize; 3])], f64s: bool) -> Vec<u8> {
    let mut npz = npyz::npz::NpzWriter::new(Cursor::new(Vec::new()));
    for &(name, shape) in entries {
        let values = ordered(shape, npyz::Order::C);
        if f64s {
            let mut w = npz
                .array::<f64>(name, Default::default())
                .expect("npz entry")
                .default_dtype()
                .shape(&dims(shape))
                .begin_nd()
                .expect("npy header");
            w.extend(values).expect("npy values");
            w.finish().expect("npy end");
        } else {
            let mut w = npz
                .array::<f32>(name, Default::default())
                .expect("npz entry")
                .default_dtype()
                .shape(&dims(shape))
                .begin_nd()
                .expect("npy header");
            w.extend(values.into_iter().map(|v| v as f32))
                .expect("npy values");
            w.finish().expect("npy end");
        }
    }
    npz.zip_writer().finish().expect("npz end").into_inner()
}

/// A zip archive of stored (uncompressed) `(name, bytes)` entries, written with the `zip`
/// crate: npy headers and values lie in the file as they are, for mutations to reach (the zip
/// fix-up repairs their CRCs).
fn stored_zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        w.start_file(*name, options).expect("zip entry");
        std::io::Write::write_all(&mut w, bytes).expect("zip data");
    }
    w.finish().expect("zip end").into_inner()
}

fn npz_cloud_seeds() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "data_f32_2x16.npz".into(),
            npz_bytes(&[("data", [2, 16, 3])], false),
        ),
        (
            "data_f64_and_labels.npz".into(),
            npz_bytes(&[("labels", [1, 4, 3]), ("data", [1, 8, 3])], true),
        ),
        (
            "data_stored.npz".into(),
            stored_zip(&[("data.npy", npy_f32([2, 4, 3], npyz::Order::C))]),
        ),
    ]
}

/// FID-statistics-like archives: `mu` `[8]` and `sigma` `[8, 8]`.
fn npz_f64_seeds() -> Vec<(String, Vec<u8>)> {
    let stats = |f64s: bool| {
        let mut npz = npyz::npz::NpzWriter::new(Cursor::new(Vec::new()));
        for (name, shape) in [("mu", vec![8u64]), ("sigma", vec![8u64, 8])] {
            let n: u64 = shape.iter().product();
            let values = (0..n).map(|i| i as f64 * 0.25 - 1.0);
            if f64s {
                let mut w = npz
                    .array::<f64>(name, Default::default())
                    .expect("npz entry")
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .expect("header");
                w.extend(values).expect("values");
                w.finish().expect("end");
            } else {
                let mut w = npz
                    .array::<f32>(name, Default::default())
                    .expect("npz entry")
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .expect("header");
                w.extend(values.map(|v| v as f32)).expect("values");
                w.finish().expect("end");
            }
        }
        npz.zip_writer().finish().expect("npz end").into_inner()
    };
    let array = |shape: &[u64]| {
        let n: u64 = shape.iter().product();
        let mut out = Vec::new();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut out)
            .begin_nd()
            .expect("npy header");
        w.extend((0..n).map(|i| i as f64 * 0.25 - 1.0))
            .expect("npy values");
        w.finish().expect("npy end");
        out
    };
    vec![
        ("stats_f64.npz".into(), stats(true)),
        ("stats_f32.npz".into(), stats(false)),
        (
            "stats_stored.npz".into(),
            stored_zip(&[("mu.npy", array(&[8])), ("sigma.npy", array(&[8, 8]))]),
        ),
    ]
}
