//! Geodesic distance matrices in MATLAB v5 `.mat` files, variable `dist` `[V, V]` (official:
//! `sio.loadmat(file)['dist']`), read with the `matfile` crate. MATLAB stores column-major;
//! the result is row-major. v7.3 (HDF5) files are reported as such.

use std::path::Path;

use matfile::{MatFile, NumericData};

use crate::error::{DataError, Result};

/// Reads the `dist` variable `[V, V]` row-major, checking it is square of size `num_vertices`
/// and finite.
pub fn read_dist_mat(path: &Path, num_vertices: usize) -> Result<Vec<f64>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    // A v7.3 file is HDF5 behind MATLAB's 512-byte user block.
    let hdf5_at = |o: usize| bytes.get(o..).is_some_and(|b| b.starts_with(b"\x89HDF"));
    if hdf5_at(512) || hdf5_at(128) {
        return Err(DataError::format(
            path,
            "a MATLAB v7.3 (HDF5) file; save it as v5 (scipy.io.savemat, or MATLAB `-v7`)",
        ));
    }
    let file = MatFile::parse(bytes.as_slice())
        .map_err(|e| DataError::format(path, format!("not a MATLAB v5 file: {e:?}")))?;
    let array = file
        .find_by_name("dist")
        .ok_or_else(|| DataError::format(path, "no variable named `dist`"))?;
    let size = array.size();
    if size.len() != 2 || size[0] != num_vertices || size[1] != num_vertices {
        return Err(DataError::format(
            path,
            format!(
                "`dist` is {size:?}, expected [{num_vertices}, {num_vertices}] (the mesh's vertex count)"
            ),
        ));
    }
    let column_major: Vec<f64> = match array.data() {
        NumericData::Double { real, .. } => real.clone(),
        NumericData::Single { real, .. } => real.iter().map(|&x| x as f64).collect(),
        other => {
            return Err(DataError::format(
                path,
                format!(
                    "`dist` must be double or single, found {}",
                    type_name(other)
                ),
            ));
        }
    };
    let n = num_vertices;
    let mut out = vec![0.0; n * n];
    for c in 0..n {
        for r in 0..n {
            out[r * n + c] = column_major[c * n + r];
        }
    }
    if let Some(k) = out.iter().position(|x| !x.is_finite() || *x < 0.0) {
        return Err(DataError::format(
            path,
            format!(
                "`dist`[{}, {}] = {} is not a finite distance",
                k / n,
                k % n,
                out[k]
            ),
        ));
    }
    Ok(out)
}

fn type_name(d: &NumericData) -> &'static str {
    match d {
        NumericData::Int8 { .. } => "int8",
        NumericData::UInt8 { .. } => "uint8",
        NumericData::Int16 { .. } => "int16",
        NumericData::UInt16 { .. } => "uint16",
        NumericData::Int32 { .. } => "int32",
        NumericData::UInt32 { .. } => "uint32",
        NumericData::Int64 { .. } => "int64",
        NumericData::UInt64 { .. } => "uint64",
        NumericData::Single { .. } => "single",
        NumericData::Double { .. } => "double",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/data/dist_3x3.mat` is written by `scripts/fixtures/dist_mat.py` with
    /// `scipy.io.savemat` (v5), holding dist = [[0,1,2],[1,0,3],[2.5,3,0]] (deliberately not
    /// symmetric, to catch a transposed read).
    #[test]
    fn reads_scipy_savemat_and_checks_the_size() {
        let p = crate::crate_file("tests/data/dist_3x3.mat");
        let d = read_dist_mat(&p, 3).unwrap();
        assert_eq!(d, vec![0.0, 1.0, 2.0, 1.0, 0.0, 3.0, 2.5, 3.0, 0.0]);
        let e = read_dist_mat(&p, 4).unwrap_err().to_string();
        assert!(e.contains("[3, 3]") && e.contains("dist_3x3.mat"), "{e}");
    }
}
