//! Point-cloud arrays in NumPy files: `.npy` holding `(N, P, 3)` float32 or float64 (converted
//! to f32), in C or Fortran order, or `.npz` archives whose `data` entry is such an array (the
//! FoldingNet/PointSWD `shapenet57448xyzonly.npz`). Read with the `npyz` crate; every coordinate
//! must be finite (the error names the file, the cloud and the point).

use std::path::Path;

use npyz::NpyFile;

use crate::cloud::{PointCloud, check_finite_clouds};
use crate::error::{DataError, Result};

/// N clouds of P points each.
#[derive(Debug, Clone)]
pub struct CloudArray {
    /// Row-major `(N, P, 3)` values.
    pub values: Vec<f32>,
    /// N.
    pub count: usize,
    /// P.
    pub points: usize,
}

impl CloudArray {
    /// Cloud `i` as a [`PointCloud`].
    pub fn cloud(&self, i: usize) -> Result<PointCloud> {
        if i >= self.count {
            return Err(DataError::Invalid(format!(
                "cloud index {i} is out of range: the array holds {} clouds",
                self.count
            )));
        }
        let stride = self.points * 3;
        Ok(PointCloud::new(
            self.values[i * stride..(i + 1) * stride].to_vec(),
        ))
    }
}

/// Converts column-major (Fortran-order) values of `shape` to row-major order.
pub(crate) fn fortran_to_c<T: Copy>(values: &[T], shape: &[usize]) -> Vec<T> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let rank = shape.len();
    // Column-major strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1].
    let mut stride = vec![1usize; rank];
    for k in 1..rank {
        stride[k] = stride[k - 1] * shape[k - 1];
    }
    let mut index = vec![0usize; rank];
    for _ in 0..n {
        out.push(values[index.iter().zip(&stride).map(|(i, s)| i * s).sum::<usize>()]);
        // Advance the row-major multi-index (last axis fastest).
        for k in (0..rank).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Reads a float array as f32 in row-major order: float32 as is, float64 converted (NumPy's
/// default dtype); C or Fortran order; little- or big-endian.
fn read_f32_row_major<R: std::io::Read>(
    npy: NpyFile<R>,
    path: &Path,
    what: &str,
) -> Result<(Vec<f32>, Vec<u64>)> {
    let shape: Vec<u64> = npy.shape().to_vec();
    let fortran = npy.order() == npyz::Order::Fortran;
    let dtype = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => format!("{other:?}"),
    };
    let bad = |e: std::io::Error| DataError::format(path, format!("reading {what}: {e}"));
    let values: Vec<f32> = match dtype.as_str() {
        "<f4" | ">f4" => npy.into_vec::<f32>().map_err(bad)?,
        "<f8" | ">f8" => npy
            .into_vec::<f64>()
            .map_err(bad)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        other => {
            return Err(DataError::format(
                path,
                format!(
                    "{what}: expected float32 ('<f4') or float64 ('<f8') values, got dtype {other}"
                ),
            ));
        }
    };
    let values = if fortran && shape.len() > 1 {
        let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        fortran_to_c(&values, &dims)
    } else {
        values
    };
    Ok((values, shape))
}

/// The number of values of an array of `shape`, refusing a shape whose product does not fit
/// in `usize`: `npyz` multiplies the header's dimensions unchecked (wrapping in release), so a
/// header such as `(2, 2**63, 3)` would read as an empty array of 2 clouds whose slices
/// overflow (found by `crates/fuzz`).
fn element_count(shape: &[u64], path: &Path, what: &str) -> Result<usize> {
    shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            DataError::format(
                path,
                format!("{what}: shape {shape:?} has more elements than can be addressed"),
            )
        })
}

fn read_array<R: std::io::Read>(npy: NpyFile<R>, path: &Path) -> Result<CloudArray> {
    let shape: Vec<u64> = npy.shape().to_vec();
    if shape.len() != 3 || shape[2] != 3 {
        return Err(DataError::format(
            path,
            format!("expected an array of shape (N, P, 3), got {shape:?}"),
        ));
    }
    element_count(&shape, path, "values")?;
    let (values, _) = read_f32_row_major(npy, path, "values")?;
    let points = shape[1] as usize;
    check_finite_clouds(path, &values, points)?;
    Ok(CloudArray {
        count: shape[0] as usize,
        points,
        values,
    })
}

/// The header text of `.npy` bytes, refusing a preamble that declares a header longer than the
/// bytes that follow: `npyz` allocates the declared length before reading it (up to 4 GiB for
/// a version 2 or 3 header), so a 188-byte file allocated 660 MB (found by `crates/fuzz`).
/// `None` when the preamble is not there to read; `npyz` then reports what is wrong.
fn check_header_length<'a>(bytes: &'a [u8], path: &Path, what: &str) -> Result<Option<&'a [u8]>> {
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Ok(None);
    }
    let (declared, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Ok(None),
    };
    if declared > bytes.len() - start {
        return Err(DataError::format(
            path,
            format!(
                "{what}: the .npy header claims {declared} bytes, but only {} bytes follow",
                bytes.len() - start
            ),
        ));
    }
    Ok(Some(&bytes[start..start + declared]))
}

/// The deepest bracket nesting passed to `npyz`'s header parser (the `py_literal` crate), which
/// backtracks exponentially in it: 8 unclosed `{` took 0.2 s, 12 took 12 s, and a fuzzed
/// header with 100 never finished (found by `crates/fuzz`); 6 costs a few milliseconds. A
/// NumPy header needs 2 (the dict and the shape tuple), a structured dtype 4 (a list of
/// tuples with subarray shapes) and a nested one 5 or 6.
const MAX_HEADER_NESTING: usize = 6;

/// Refuses a header text whose brackets, outside quotes, nest deeper than
/// [`MAX_HEADER_NESTING`].
fn check_header_nesting(header: &[u8], path: &Path, what: &str) -> Result<()> {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for &b in header {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, b')' | b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_HEADER_NESTING {
        return Err(DataError::format(
            path,
            format!(
                "{what}: the .npy header nests brackets {deepest} deep (a NumPy header needs at most {MAX_HEADER_NESTING})"
            ),
        ));
    }
    Ok(())
}

/// Parses `.npy` bytes (the file, or an entry of an archive named by `what`).
fn npy_from_bytes<'a>(bytes: &'a [u8], path: &Path, what: &str) -> Result<NpyFile<&'a [u8]>> {
    if let Some(header) = check_header_length(bytes, path, what)? {
        check_header_nesting(header, path, what)?;
    }
    NpyFile::new(bytes)
        .map_err(|e| DataError::format(path, format!("{what}: not a .npy array: {e}")))
}

/// The bytes of entry `key` of the `.npz` archive at `path`. Read whole before `npyz` parses
/// them, so that its header can be checked against them ([`check_header_length`]); the zip
/// reader yields no more than the entry's data really holds.
fn npz_entry(path: &Path, key: &str) -> Result<Vec<u8>> {
    let mut archive = npyz::npz::NpzArchive::open(path)
        .map_err(|e| DataError::format(path, format!("not a readable .npz archive: {e}")))?;
    let names: Vec<String> = archive.array_names().map(str::to_string).collect();
    if !names.iter().any(|n| n == key) {
        return Err(DataError::format(
            path,
            format!("the archive has no `{key}` entry (entries: {names:?})"),
        ));
    }
    let mut entry = archive
        .zip_archive()
        .by_name(&npyz::npz::file_name_from_array_name(key))
        .map_err(|e| DataError::format(path, format!("reading entry `{key}`: {e}")))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes)
        .map_err(|e| DataError::format(path, format!("reading entry `{key}`: {e}")))?;
    Ok(bytes)
}

/// Reads `(N, P, 3)` float32/float64 clouds from a `.npy` file or from the `data` entry of a `.npz`.
pub fn read_clouds(path: impl AsRef<Path>) -> Result<CloudArray> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
            hint: "Point-cloud arrays are .npy files of shape (N, P, 3) float32, or .npz archives with a `data` entry of that shape.".into(),
        });
    }
    let is_npz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    if is_npz {
        let bytes = npz_entry(path, "data")?;
        read_array(npy_from_bytes(&bytes, path, "entry `data`")?, path)
    } else {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        read_array(npy_from_bytes(&bytes, path, "the file")?, path)
    }
}

/// Reads entry `key` of a `.npz` archive as f64 (float32 or float64 arrays), with its shape.
pub fn read_npz_f64(path: impl AsRef<Path>, key: &str) -> Result<(Vec<f64>, Vec<u64>)> {
    let path = path.as_ref();
    if !path.is_file() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
            hint: format!("expected a .npz archive with an entry `{key}`"),
        });
    }
    let bytes = npz_entry(path, key)?;
    let npy = npy_from_bytes(&bytes, path, &format!("entry `{key}`"))?;
    let shape = npy.shape().to_vec();
    element_count(&shape, path, &format!("entry `{key}`"))?;
    let dtype = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => format!("{other:?}"),
    };
    let bad = |e: std::io::Error| DataError::format(path, format!("entry `{key}`: {e}"));
    let values = match dtype.as_str() {
        "<f8" => npy.into_vec::<f64>().map_err(bad)?,
        "<f4" => npy
            .into_vec::<f32>()
            .map_err(bad)?
            .into_iter()
            .map(f64::from)
            .collect(),
        other => {
            return Err(DataError::format(
                path,
                format!("entry `{key}`: expected float32 or float64, got dtype {other}"),
            ));
        }
    };
    Ok((values, shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use npyz::WriterBuilder;

    fn write_npy(path: &Path, shape: &[u64], values: &[f32]) {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut file)
            .begin_nd()
            .unwrap();
        w.extend(values.iter().copied()).unwrap();
        w.finish().unwrap();
    }

    #[test]
    fn reads_the_shared_shapenet_sample() {
        let path = Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("data/shapenetcore55_random50.npy");
        let a = read_clouds(&path).unwrap();
        assert_eq!((a.count, a.points), (50, 2048));
        let c = a.cloud(32).unwrap().normalized();
        let r = c
            .points
            .chunks_exact(3)
            .map(|p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt())
            .fold(0f32, f32::max);
        assert!((r - 1.0).abs() < 1e-5);
        assert!(c.centroid().iter().all(|v| v.abs() < 1e-5));
        assert!(
            a.cloud(50)
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let rank2 = dir.path().join("rank2.npy");
        write_npy(&rank2, &[4, 3], &[0.0; 12]);
        let err = read_clouds(&rank2).unwrap_err().to_string();
        assert!(
            err.contains("rank2.npy") && err.contains("(N, P, 3)"),
            "{err}"
        );
        let missing = read_clouds(dir.path().join("nope.npy"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("nope.npy") && missing.contains("not found"),
            "{missing}"
        );
        // An .npz whose only entry is not `data`.
        let npz = dir.path().join("points.npz");
        {
            let mut w = npyz::npz::NpzWriter::create(&npz).unwrap();
            let mut a = w
                .array::<f32>("points", Default::default())
                .unwrap()
                .default_dtype()
                .shape(&[1, 2, 3])
                .begin_nd()
                .unwrap();
            a.extend([0.0f32; 6]).unwrap();
            a.finish().unwrap();
        }
        let err = read_clouds(&npz).unwrap_err().to_string();
        assert!(
            err.contains("points.npz") && err.contains("no `data` entry") && err.contains("points"),
            "{err}"
        );
        let junk = dir.path().join("junk.npz");
        std::fs::write(&junk, b"not a zip").unwrap();
        assert!(
            read_clouds(&junk)
                .unwrap_err()
                .to_string()
                .contains("junk.npz")
        );
    }

    /// Writes `(N, P, 3)` values given as a function of the index, in `order`, as `T`.
    fn write_indexed<T: npyz::AutoSerialize + Copy>(
        path: &Path,
        shape: [usize; 3],
        order: npyz::Order,
        value: impl Fn(usize, usize, usize) -> T,
    ) {
        let [n, p, d] = shape;
        let mut out = Vec::with_capacity(n * p * d);
        match order {
            // Last axis fastest.
            npyz::Order::C => {
                for i in 0..n {
                    for j in 0..p {
                        for k in 0..d {
                            out.push(value(i, j, k));
                        }
                    }
                }
            }
            // First axis fastest: element (i, j, k) at i + n·(j + p·k).
            npyz::Order::Fortran => {
                for k in 0..d {
                    for j in 0..p {
                        for i in 0..n {
                            out.push(value(i, j, k));
                        }
                    }
                }
            }
        }
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[n as u64, p as u64, d as u64])
            .order(order)
            .writer(&mut file)
            .begin_nd()
            .unwrap();
        w.extend(out).unwrap();
        w.finish().unwrap();
    }

    #[test]
    fn fortran_order_and_float64_read_as_the_same_values() {
        let dir = tempfile::tempdir().unwrap();
        let v = |i: usize, j: usize, k: usize| (100 * i + 10 * j + k) as f32 + 0.25;
        let shape = [2, 4, 3];
        let c = dir.path().join("c.npy");
        let f = dir.path().join("f.npy");
        let f64s = dir.path().join("f64.npy");
        let f64_fortran = dir.path().join("f64_fortran.npy");
        write_indexed(&c, shape, npyz::Order::C, v);
        write_indexed(&f, shape, npyz::Order::Fortran, v);
        write_indexed(&f64s, shape, npyz::Order::C, |i, j, k| v(i, j, k) as f64);
        write_indexed(&f64_fortran, shape, npyz::Order::Fortran, |i, j, k| {
            v(i, j, k) as f64
        });
        // Expected: cloud i, point j, coordinate k = 100 i + 10 j + k + 0.25.
        let expected: Vec<f32> = (0..2)
            .flat_map(|i| (0..4).flat_map(move |j| (0..3).map(move |k| v(i, j, k))))
            .collect();
        for path in [&c, &f, &f64s, &f64_fortran] {
            let a = read_clouds(path).unwrap();
            assert_eq!((a.count, a.points), (2, 4), "{}", path.display());
            assert_eq!(a.values, expected, "{}", path.display());
        }
        assert_eq!(a_cloud(&f, 1)[3..6], [110.25, 111.25, 112.25]);
    }

    fn a_cloud(path: &Path, i: usize) -> Vec<f32> {
        read_clouds(path).unwrap().cloud(i).unwrap().points
    }

    #[test]
    fn a_nan_names_the_file_the_cloud_and_the_point() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holes.npy");
        write_indexed(&path, [3, 5, 3], npyz::Order::Fortran, |i, j, k| {
            if (i, j, k) == (2, 3, 1) {
                f32::NAN
            } else {
                1.0
            }
        });
        let err = read_clouds(&path).unwrap_err().to_string();
        assert!(
            err.contains("holes.npy") && err.contains("cloud 2, point 3") && err.contains("NaN"),
            "{err}"
        );
        let path = dir.path().join("inf.npy");
        write_indexed(&path, [3, 5, 3], npyz::Order::C, |i, j, k| {
            if (i, j, k) == (0, 4, 2) {
                f64::INFINITY
            } else {
                1.0
            }
        });
        let err = read_clouds(&path).unwrap_err().to_string();
        assert!(
            err.contains("inf.npy") && err.contains("cloud 0, point 4") && err.contains("z"),
            "{err}"
        );
    }

    #[test]
    fn an_integer_array_is_refused_with_its_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ints.npy");
        write_indexed(&path, [1, 2, 3], npyz::Order::C, |_, _, _| 7i32);
        let err = read_clouds(&path).unwrap_err().to_string();
        assert!(
            err.contains("ints.npy") && err.contains("float32") && err.contains("<i4"),
            "{err}"
        );
    }

    /// `crates/fuzz` (npy_clouds, input 2264; npz_f64, input 16592): a version-2 preamble
    /// declaring a 660 MB header in a small file, in a `.npy` and in a `.npz` entry.
    #[test]
    fn a_header_longer_than_the_file_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend(0x2780_0000u32.to_le_bytes());
        bytes.extend(b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }");
        let npy = dir.path().join("long_header.npy");
        std::fs::write(&npy, &bytes).unwrap();
        let err = read_clouds(&npy).unwrap_err().to_string();
        assert!(
            err.contains("long_header.npy") && err.contains("claims 662700032 bytes"),
            "{err}"
        );
        let npz = dir.path().join("long_header.npz");
        {
            let mut w = zip::ZipWriter::new(std::fs::File::create(&npz).unwrap());
            w.start_file("mu.npy", zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, &bytes).unwrap();
            w.finish().unwrap();
        }
        let err = read_npz_f64(&npz, "mu").unwrap_err().to_string();
        assert!(
            err.contains("long_header.npz") && err.contains("entry `mu`") && err.contains("claims"),
            "{err}"
        );
    }

    /// `crates/fuzz` (npy_clouds, input 84954): a header opening with 108 `{` sent npyz's
    /// parser into exponential backtracking; refused at once, and a legitimate nested
    /// structured dtype (nesting 5) still gets as far as the dtype check.
    #[test]
    fn a_deeply_nested_header_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let npy = |header: String| {
            let mut text = header.into_bytes();
            text.resize(text.len().next_multiple_of(64) - 11, b' ');
            text.push(b'\n');
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend((text.len() as u16).to_le_bytes());
            bytes.extend(text);
            bytes.extend([0u8; 8 * 72]);
            bytes
        };
        let path = dir.path().join("nested.npy");
        let nested = format!(
            "{}{{'descr': '<f8', 'fortran_order': True, 'shape': (3, 8, 3), }}",
            "{".repeat(108)
        );
        std::fs::write(&path, npy(nested)).unwrap();
        let start = std::time::Instant::now();
        let err = read_clouds(&path).unwrap_err().to_string();
        assert!(
            err.contains("nested.npy") && err.contains("nests brackets 110 deep"),
            "{err}"
        );
        assert!(start.elapsed().as_secs_f64() < 1.0);
        let structured = "{'descr': [('x', '<f4', (3,)), ('y', [('a', '<f4')])], 'fortran_order': False, 'shape': (1, 2, 3), }";
        std::fs::write(&path, npy(structured.to_string())).unwrap();
        let err = read_clouds(&path).unwrap_err().to_string();
        assert!(err.contains("expected float32"), "{err}");
    }

    /// `crates/fuzz` (npy_clouds, input 507, minimised): the dimensions' product wraps to 0.
    #[test]
    fn a_shape_whose_size_overflows_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.npy");
        let mut bytes = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 9223372036854775808, 3, ), }".to_vec();
        bytes.resize(128, b' ');
        std::fs::write(&path, &bytes).unwrap();
        let err = read_clouds(&path).unwrap_err().to_string();
        assert!(
            err.contains("huge.npy") && err.contains("more elements than can be addressed"),
            "{err}"
        );
    }

    #[test]
    fn fortran_to_c_matches_the_index_formula() {
        // A (2, 3) column-major matrix [[1, 2, 3], [4, 5, 6]] is stored 1 4 2 5 3 6.
        assert_eq!(
            fortran_to_c(&[1, 4, 2, 5, 3, 6], &[2, 3]),
            vec![1, 2, 3, 4, 5, 6]
        );
    }
}
