//! The ULRSSM / EOT-Correspondence dataset folder (official `datasets/shape_dataset.py`,
//! `SingleShapeDataset`):
//!
//! ```text
//! <root>/off/<name>.off        meshes
//! <root>/corres/<name>.vts     1-based vertex of each template point (optional)
//! <root>/dist/<name>.mat       geodesic matrix `dist` [V, V], normalised by √area (optional)
//! ```
//! Files of each folder are sorted like the official `sort_list`: by the number just before
//! the extension (`tr_reg_080.off` → 80) when every name has one, else by name; the i-th
//! files of the three folders belong together.

use std::path::{Path, PathBuf};

use super::mat::read_dist_mat;
use super::vts::read_vts;
use crate::error::{DataError, Result};
use crate::mesh::Mesh;
use crate::mesh_io::read_mesh;

/// One shape with its optional ground truth.
#[derive(Debug, Clone)]
pub struct CorrShape {
    /// File stem.
    pub name: String,
    /// The mesh.
    pub mesh: Mesh,
    /// Vertex of each template point `[N]` (0-based), when known.
    pub corr: Option<Vec<usize>>,
    /// Geodesic distances `[V, V]` row-major, normalised by √area, when known.
    pub dist: Option<Vec<f64>>,
}

/// The files of a dataset folder.
#[derive(Debug, Clone)]
pub struct CorrespondenceFolder {
    /// The folder.
    pub root: PathBuf,
    /// Meshes, sorted.
    pub off: Vec<PathBuf>,
    /// Correspondences, sorted (empty if `corres/` is absent).
    pub corres: Vec<PathBuf>,
    /// Distance matrices, sorted (empty if `dist/` is absent).
    pub dist: Vec<PathBuf>,
}

fn trailing_number(p: &Path) -> Option<u64> {
    let stem = p.file_stem()?.to_str()?;
    let digits: String = stem
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

fn sorted_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    if files.iter().all(|p| trailing_number(p).is_some()) {
        files.sort_by_key(|p| (trailing_number(p), p.clone()));
    } else {
        files.sort();
    }
    Ok(files)
}

impl CorrespondenceFolder {
    /// Lists `<root>/off`, and `corres/`, `dist/` where present, checking the counts agree.
    pub fn open(root: &Path) -> Result<Self> {
        let off_dir = root.join("off");
        if !off_dir.is_dir() {
            return Err(DataError::NotFound {
                path: off_dir,
                hint:
                    "a correspondence dataset folder holds off/ (and corres/, dist/) as in ULRSSM; \
                       scripts/make_corr_layout.py writes a small one"
                        .into(),
            });
        }
        let off = sorted_files(&off_dir, "off")?;
        if off.is_empty() {
            return Err(DataError::format(&off_dir, "no .off files"));
        }
        let optional = |sub: &str, ext: &str| -> Result<Vec<PathBuf>> {
            let dir = root.join(sub);
            if !dir.is_dir() {
                return Ok(Vec::new());
            }
            let files = sorted_files(&dir, ext)?;
            if files.len() != off.len() {
                return Err(DataError::format(
                    &dir,
                    format!(
                        "{} .{ext} files for {} meshes in off/",
                        files.len(),
                        off.len()
                    ),
                ));
            }
            Ok(files)
        };
        let corres = optional("corres", "vts")?;
        let dist = optional("dist", "mat")?;
        Ok(Self {
            root: root.to_path_buf(),
            off,
            corres,
            dist,
        })
    }

    /// Number of shapes.
    pub fn len(&self) -> usize {
        self.off.len()
    }

    /// Whether the folder has no shapes (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.off.is_empty()
    }

    /// Loads shape `i` with the ground truth that is present.
    pub fn load(&self, i: usize) -> Result<CorrShape> {
        let path = self.off.get(i).ok_or_else(|| {
            DataError::Invalid(format!(
                "shape {i} of {} in {}",
                self.len(),
                self.root.display()
            ))
        })?;
        let mesh = read_mesh(path)?;
        let v = mesh.num_vertices();
        let corr = self.corres.get(i).map(|p| read_vts(p, v)).transpose()?;
        let dist = self.dist.get(i).map(|p| read_dist_mat(p, v)).transpose()?;
        Ok(CorrShape {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            mesh,
            corr,
            dist,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_numerically_and_checks_counts() {
        let dir = tempfile::tempdir().unwrap();
        let off = dir.path().join("off");
        std::fs::create_dir(&off).unwrap();
        let tri = "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n";
        for name in ["tr_reg_10.off", "tr_reg_9.off", "tr_reg_100.off"] {
            std::fs::write(off.join(name), tri).unwrap();
        }
        let f = CorrespondenceFolder::open(dir.path()).unwrap();
        let names: Vec<_> = f
            .off
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["tr_reg_9.off", "tr_reg_10.off", "tr_reg_100.off"]);
        let s = f.load(1).unwrap();
        assert_eq!(
            (s.name.as_str(), s.mesh.num_vertices(), s.corr.is_none()),
            ("tr_reg_10", 3, true)
        );
        let corres = dir.path().join("corres");
        std::fs::create_dir(&corres).unwrap();
        std::fs::write(corres.join("tr_reg_9.vts"), "1\n").unwrap();
        let e = CorrespondenceFolder::open(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 .vts files for 3 meshes"), "{e}");
        let e = CorrespondenceFolder::open(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("off"), "{e}");
    }
}
