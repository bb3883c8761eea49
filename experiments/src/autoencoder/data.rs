//! The clouds an autoencoder run trains and evaluates on: the `[data]` file (ShapeNet-55
//! array) or synthetic shapes, split into training and held-out clouds. Shared by [`super::train`]
//! and [`super::eval`].

use anyhow::{Context, Result, anyhow, bail};
use burn::data::dataset::Dataset;
use datasets::shapenet::{CloudItem, ShapeNet};
use datasets::synthetic::Shape;

use super::config::AeData;
use crate::config::Loaded;

/// `data` with its `file` found as [`Loaded::resolve_path`] says (working directory, then the
/// config's folder upwards).
pub(super) fn data_resolved(data: &AeData, loaded: &Loaded) -> Result<AeData> {
    let mut data = data.clone();
    if let Some(file) = &data.file {
        data.file = Some(loaded.resolve_path("data.file", file)?);
    }
    Ok(data)
}

/// The training clouds and the evaluation clouds: the last `held_out` clouds, or (held_out =
/// 0) the training clouds themselves. The flag says which.
pub(super) fn training_set(
    cfg: &AeData,
    seed: u64,
) -> Result<(Vec<CloudItem>, Vec<CloudItem>, bool)> {
    let all: Vec<CloudItem> = match &cfg.file {
        Some(path) => {
            let ds = ShapeNet::open(path).context("[data] file")?;
            (0..ds.len())
                .map(|i| ds.get(i).map_err(|e| anyhow!("{e}")))
                .collect::<Result<_>>()?
        }
        None => (0..cfg.synthetic_clouds)
            .map(|i| {
                let shape = Shape::ALL[i % Shape::ALL.len()];
                CloudItem {
                    cloud: shape
                        .sample(cfg.points, seed.wrapping_mul(1000).wrapping_add(i as u64))
                        .normalized(),
                    label: (i % Shape::ALL.len()) as u8,
                }
            })
            .collect(),
    };
    if all.len() <= cfg.held_out {
        bail!(
            "[data] needs more than held_out = {} clouds, has {}",
            cfg.held_out,
            all.len()
        );
    }
    if cfg.held_out == 0 {
        return Ok((all.clone(), all, false));
    }
    let split = all.len() - cfg.held_out;
    Ok((all[..split].to_vec(), all[split..].to_vec(), true))
}
