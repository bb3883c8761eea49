//! Shapes and their operators for the shape-correspondence experiment.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use datasets::geometry::{SpectralOperators, load_or_compute};
use datasets::shape_corr::{
    CorrShape, CorrespondenceFolder, SyntheticCorrConfig, synthetic_collection,
};
use models::diffusion_net::MeshOperators;
use models::fmap::PairShape;

use super::config::ShapeCorrConfig;
use crate::progress::Progress;

/// A shape with its host operators and WKS input.
pub struct Prepared {
    /// Mesh and ground truth.
    pub shape: CorrShape,
    /// Operators with max(num_evecs, k_eig) eigenpairs.
    pub spectral: SpectralOperators,
    /// WKS `[V, 128]` as f32.
    pub wks: Vec<f32>,
}

/// A prepared shape on one device.
#[derive(Clone)]
pub struct OnDevice {
    /// WKS `[V, 128]`.
    pub wks: Tensor<2>,
    /// Operators with every eigenpair (DiffusionNet takes its first k_eig).
    pub ops: MeshOperators,
    /// The functional-map view (first num_evecs eigenpairs).
    pub pair: PairShape,
}

impl Prepared {
    /// Uploads to `device`, with `num_evecs` eigenpairs for the functional maps.
    pub fn on(&self, device: &Device, num_evecs: usize) -> OnDevice {
        let v = self.shape.mesh.num_vertices();
        let ops = MeshOperators::new(&self.spectral, usize::MAX, device);
        let pair = PairShape {
            ops: ops.truncate(num_evecs),
            evals: self.spectral.basis.evals[..num_evecs].to_vec(),
        };
        OnDevice {
            wks: Tensor::from_data(
                TensorData::new(self.wks.clone(), [v, self.wks.len() / v]),
                device,
            ),
            ops,
            pair,
        }
    }
}

/// Default operator cache, relative to the working directory. Files are keyed by a hash of
/// the mesh and K, so every dataset can share it.
pub const DEFAULT_CACHE: &str = "runs/cache/shape_corr";

/// The shapes the config names (train and test ranges), with operators from the cache.
pub fn load(cfg: &ShapeCorrConfig, path: &str) -> Result<(Vec<Prepared>, PathBuf)> {
    let d = &cfg.data;
    let end = d.train[1].max(d.test[1]);
    let (shapes, cache): (Vec<CorrShape>, PathBuf) = match d.source.as_str() {
        "synthetic" => {
            if end > d.synthetic_shapes {
                bail!(
                    "{path}: [data] train/test ranges reach shape {end} but synthetic_shapes = {}",
                    d.synthetic_shapes
                );
            }
            let shapes = synthetic_collection(&SyntheticCorrConfig {
                shapes: d.synthetic_shapes,
                subdivision: d.synthetic_subdivision,
                max_bend: d.synthetic_max_bend,
                seed: cfg.header.seed,
            })?;
            (
                shapes,
                d.cache_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE)),
            )
        }
        _ => {
            let Some(folder) = &d.folder else {
                bail!("{path}: [data] source = \"folder\" needs `folder`");
            };
            let f = CorrespondenceFolder::open(folder)?;
            if end > f.len() {
                bail!(
                    "{path}: [data] train = {:?}, test = {:?} need {end} shapes but {} has {}",
                    d.train,
                    d.test,
                    folder.display(),
                    f.len()
                );
            }
            let shapes = (0..end)
                .map(|i| f.load(i))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            // not `<folder>/diffusion` as ULRSSM does: nothing is written into the user's dataset
            (
                shapes,
                d.cache_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE)),
            )
        }
    };
    let shapes = if d.unit_area {
        shapes
            .into_iter()
            .map(|s| {
                let mesh = s
                    .mesh
                    .unit_area_centered()
                    .with_context(|| format!("shape `{}`", s.name))?;
                Ok(CorrShape { mesh, ..s })
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        shapes
    };
    let k = cfg.model.num_evecs.max(cfg.model.k_eig);
    let mut progress = Progress::new("operators", shapes.len() as u64);
    let prepared = shapes
        .into_iter()
        .map(|shape| {
            let spectral =
                load_or_compute(&shape.mesh, k.min(shape.mesh.num_vertices()), Some(&cache))
                    .with_context(|| format!("operators of shape `{}`", shape.name))?;
            if spectral.basis.k() < cfg.model.num_evecs {
                bail!(
                    "{path}: [model] num_evecs = {} but shape `{}` has only {} vertices",
                    cfg.model.num_evecs,
                    shape.name,
                    shape.mesh.num_vertices()
                );
            }
            let wks = spectral.wks()?.into_iter().map(|x| x as f32).collect();
            progress.inc(1, String::new);
            Ok(Prepared {
                shape,
                spectral,
                wks,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    progress.finish();
    Ok((prepared, cache))
}

/// Checks that a test shape has the ground truth the metric needs.
pub fn check_truth(p: &Prepared, root: &Path) -> Result<()> {
    if p.shape.corr.is_none() || p.shape.dist.is_none() {
        bail!(
            "shape `{}` has no corres/*.vts or dist/*.mat under {}: the geodesic error needs both",
            p.shape.name,
            root.display()
        );
    }
    Ok(())
}

#[cfg(test)]
pub(in crate::shape_corr) mod tests {
    use super::*;

    /// The synthetic config at test size (2 shapes of 162 vertices, 8 eigenpairs), with
    /// `extra` overrides.
    pub(in crate::shape_corr) fn tiny(
        unit_area: bool,
        cache: &Path,
        extra: &[&str],
    ) -> ShapeCorrConfig {
        let mut sets: Vec<String> = [
            "data.synthetic_shapes=2",
            "data.synthetic_subdivision=2",
            "data.train=[0, 1]",
            "data.test=[1, 2]",
            "model.num_evecs=8",
            "model.k_eig=8",
            &format!("data.unit_area={unit_area}"),
            &format!("data.cache_dir={:?}", cache.display().to_string()),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sets.extend(extra.iter().map(|s| s.to_string()));
        let path = Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../configs/shape_corr_synthetic.toml");
        crate::config::load(&path, &sets).unwrap().parse().unwrap()
    }

    /// With `unit_area` (the default) the prepared meshes are centred with area 1 (ULRSSM
    /// preprocess.py); without it they keep the synthetic collection's own scale.
    #[test]
    fn shapes_are_rescaled_to_unit_area_before_their_operators() {
        let cache = tempfile::tempdir().unwrap();
        let (on, _) = load(&tiny(true, cache.path(), &[]), "test").unwrap();
        let (off, _) = load(&tiny(false, cache.path(), &[]), "test").unwrap();
        for (a, b) in on.iter().zip(&off) {
            assert!(
                (a.shape.mesh.area() - 1.0).abs() < 1e-6,
                "{}",
                a.shape.mesh.area()
            );
            assert!(
                (b.shape.mesh.area() - 1.0).abs() > 1e-3,
                "the synthetic shapes are not unit-area already"
            );
            let expected = b.shape.mesh.unit_area_centered().unwrap();
            assert_eq!(a.shape.mesh, expected);
        }
    }
}
