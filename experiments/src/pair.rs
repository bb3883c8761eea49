//! The `[data]` section shared by the point-cloud studies: two clouds, from a `.npy`/`.npz`
//! array of clouds or from synthetic shapes, under the affine map of the CV-SW paper
//! (`source = s·A[i] + o_s`, `target = s·A[j] + o_t`, offsets on every axis).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::config::Loaded;
use datasets::PointCloud;
use datasets::synthetic::Shape;
use serde::{Deserialize, Serialize};

/// Two clouds for a flow or a variance study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PairConfig {
    /// `.npy`/`.npz` file of `(N, P, 3)` float32 clouds; when absent, synthetic shapes are used.
    pub file: Option<PathBuf>,
    /// Index of the source cloud in `file`.
    pub source_index: usize,
    /// Index of the target cloud in `file`.
    pub target_index: usize,
    /// Synthetic source shape (when no file).
    pub source: String,
    /// Synthetic target shape (when no file).
    pub target: String,
    /// Points per synthetic cloud (files keep their P).
    pub points: usize,
    /// Scale s applied to both clouds.
    pub scale: f32,
    /// Offset added to every coordinate of the source.
    pub source_offset: f32,
    /// Offset added to every coordinate of the target.
    pub target_offset: f32,
}

impl Default for PairConfig {
    fn default() -> Self {
        Self {
            file: None,
            source_index: 32,
            target_index: 33,
            source: "torus".into(),
            target: "bumpy-sphere".into(),
            points: 2048,
            scale: 2.0,
            source_offset: -10.0,
            target_offset: 10.0,
        }
    }
}

impl PairConfig {
    /// Loads (source, target) and a one-line description; a relative `file` is found as
    /// [`Loaded::resolve_path`] says.
    pub fn load(&self, seed: u64, loaded: &Loaded) -> Result<(PointCloud, PointCloud, String)> {
        let (source, target, what) = match &self.file {
            Some(path) => {
                let path = &loaded.resolve_path("data.file", path)?;
                let array = datasets::npy::read_clouds(path).context("[data] file")?;
                let s = array
                    .cloud(self.source_index)
                    .context("[data] source_index")?;
                let t = array
                    .cloud(self.target_index)
                    .context("[data] target_index")?;
                (
                    s,
                    t,
                    format!(
                        "{} clouds {} → {}",
                        path.display(),
                        self.source_index,
                        self.target_index
                    ),
                )
            }
            None => {
                if self.points == 0 {
                    bail!("[data] points must be at least 1");
                }
                let s: Shape = self.source.parse().context("[data] source")?;
                let t: Shape = self.target.parse().context("[data] target")?;
                (
                    s.sample(self.points, seed),
                    t.sample(self.points, seed.wrapping_add(1)),
                    format!(
                        "synthetic {} → {} ({} points)",
                        s.name(),
                        t.name(),
                        self.points
                    ),
                )
            }
        };
        let (so, to) = (self.source_offset, self.target_offset);
        Ok((
            source.affine(self.scale, [so; 3]),
            target.affine(self.scale, [to; 3]),
            format!("{what}, ×{} with offsets {so} / {to}", self.scale),
        ))
    }
}
