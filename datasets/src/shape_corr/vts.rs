//! `.vts` correspondence files: one 1-based vertex index per line (the shape's vertex that
//! matches template point k). Official: `np.loadtxt(file, dtype=np.int32) - 1`
//! (EOT-Correspondence `datasets/shape_dataset.py`).

use std::path::Path;

use crate::error::{DataError, Result};

/// Reads a `.vts` file as 0-based indices, checking each is a vertex of a `num_vertices` mesh.
pub fn read_vts(path: &Path, num_vertices: usize) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    text.split_whitespace()
        .enumerate()
        .map(|(k, t)| {
            let i: usize = t.parse().map_err(|_| {
                DataError::format(path, format!("entry {k}: expected a vertex index, found `{t}`"))
            })?;
            if i == 0 || i > num_vertices {
                return Err(DataError::format(
                    path,
                    format!("entry {k}: index {i} is not a 1-based vertex of a {num_vertices}-vertex mesh"),
                ));
            }
            Ok(i - 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_based_indices_and_names_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.vts");
        std::fs::write(&p, "1\n3\n2\n").unwrap();
        assert_eq!(read_vts(&p, 3).unwrap(), vec![0, 2, 1]);
        std::fs::write(&p, "1\n4\n").unwrap();
        let e = read_vts(&p, 3).unwrap_err().to_string();
        assert!(e.contains("entry 1") && e.contains("a.vts"), "{e}");
        std::fs::write(&p, "1\nx\n").unwrap();
        assert!(read_vts(&p, 3).unwrap_err().to_string().contains("`x`"));
    }
}
