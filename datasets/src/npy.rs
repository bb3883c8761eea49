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

fn read_array<R: std::io::Read>(npy: NpyFile<R>, path: &Path) -> Result<CloudArray> {
    let shape: Vec<u64> = npy.shape().to_vec();
    if shape.len() != 3 || shape[2] != 3 {
        return Err(DataError::format(
            path,
            format!("expected an array of shape (N, P, 3), got {shape:?}"),
        ));
    }
    let (values, _) = read_f32_row_major(npy, path, "values")?;
    let points = shape[1] as usize;
    check_finite_clouds(path, &values, points)?;
    Ok(CloudArray {
        count: shape[0] as usize,
        points,
        values,
    })
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
        let mut archive = npyz::npz::NpzArchive::open(path)
            .map_err(|e| DataError::format(path, format!("not a readable .npz archive: {e}")))?;
        let names: Vec<String> = archive.array_names().map(str::to_string).collect();
        let npy = archive
            .by_name("data")
            .map_err(|e| DataError::format(path, format!("reading entry `data`: {e}")))?
            .ok_or_else(|| {
                DataError::format(
                    path,
                    format!("the archive has no `data` entry (entries: {names:?})"),
                )
            })?;
        read_array(npy, path)
    } else {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let npy = NpyFile::new(&bytes[..])
            .map_err(|e| DataError::format(path, format!("not a .npy file: {e}")))?;
        read_array(npy, path)
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
    let mut archive = npyz::npz::NpzArchive::open(path)
        .map_err(|e| DataError::format(path, format!("not a readable .npz archive: {e}")))?;
    let names: Vec<String> = archive.array_names().map(str::to_string).collect();
    let npy = archive
        .by_name(key)
        .map_err(|e| DataError::format(path, format!("reading entry `{key}`: {e}")))?
        .ok_or_else(|| {
            DataError::format(
                path,
                format!("the archive has no `{key}` entry (entries: {names:?})"),
            )
        })?;
    let shape = npy.shape().to_vec();
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

    #[test]
    fn fortran_to_c_matches_the_index_formula() {
        // A (2, 3) column-major matrix [[1, 2, 3], [4, 5, 6]] is stored 1 4 2 5 3 6.
        assert_eq!(
            fortran_to_c(&[1, 4, 2, 5, 3, 6], &[2, 3]),
            vec![1, 2, 3, 4, 5, 6]
        );
    }
}
