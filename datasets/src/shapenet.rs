//! ShapeNet-55 point clouds as a Burn dataset, and the cloud batcher.
//!
//! Items are normalised (centred on the centroid, scaled into the unit ball). For training,
//! [`CloudBatcher::resample`] draws P points with replacement from each cloud (seeded).

use std::path::Path;
use std::sync::Mutex;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::cloud::PointCloud;
use crate::error::Result;
use crate::npy::{CloudArray, read_clouds};

/// A cloud with a class label (0 where there is none).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudItem {
    /// The points.
    pub cloud: PointCloud,
    /// Class index.
    pub label: u8,
}

/// Clouds from a `.npy` or `.npz` (`data` entry) file of shape (N, P, 3).
pub struct ShapeNet {
    array: CloudArray,
}

impl ShapeNet {
    /// Opens the file (see [`read_clouds`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            array: read_clouds(path)?,
        })
    }
}

impl Dataset<CloudItem> for ShapeNet {
    fn get(&self, index: usize) -> std::result::Result<CloudItem, DatasetError> {
        let cloud = self.array.cloud(index).map_err(DatasetError::new)?;
        Ok(CloudItem {
            cloud: cloud.normalized(),
            label: 0,
        })
    }

    fn len(&self) -> usize {
        self.array.count
    }
}

/// A batch of clouds on a device.
#[derive(Debug, Clone)]
pub struct CloudBatch {
    /// `[B, P, 3]`.
    pub points: Tensor<3>,
    /// `[B]`.
    pub labels: Tensor<1, Int>,
}

/// Stacks clouds into `[B, P, 3]`; optionally resamples P points per cloud with replacement.
pub struct CloudBatcher {
    resample: Option<(usize, Mutex<StdRng>)>,
}

impl CloudBatcher {
    /// Keeps clouds as they are (all must have the same size).
    pub fn new() -> Self {
        Self { resample: None }
    }

    /// Draws `points` points with replacement from each cloud, from a generator seeded once.
    pub fn resample(points: usize, seed: u64) -> Self {
        Self {
            resample: Some((points, Mutex::new(StdRng::seed_from_u64(seed)))),
        }
    }
}

impl Default for CloudBatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Batcher<CloudItem, CloudBatch> for CloudBatcher {
    fn batch(&self, items: Vec<CloudItem>, device: &Device) -> CloudBatch {
        let b = items.len();
        let mut values = Vec::new();
        let mut size = None;
        for item in &items {
            let n = item.cloud.len();
            match &self.resample {
                Some((p, rng)) => {
                    let mut rng = rng.lock().expect("rng lock");
                    for _ in 0..*p {
                        let i = rng.random_range(0..n);
                        values.extend_from_slice(&item.cloud.points[3 * i..3 * i + 3]);
                    }
                    size = Some(*p);
                }
                None => {
                    assert!(
                        size.is_none_or(|s| s == n),
                        "clouds in one batch must have one size (use CloudBatcher::resample)"
                    );
                    size = Some(n);
                    values.extend_from_slice(&item.cloud.points);
                }
            }
        }
        let p = size.unwrap_or(0);
        let labels: Vec<i64> = items.iter().map(|i| i.label as i64).collect();
        CloudBatch {
            points: Tensor::from_data(TensorData::new(values, [b, p, 3]), device),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::DataLoaderBuilder;

    #[test]
    fn shared_sample_through_a_burn_dataloader() {
        let path = Path::new(
            &std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("data/shapenetcore55_random50.npy");
        let ds = ShapeNet::open(&path).unwrap();
        assert_eq!(ds.len(), 50);
        let loader = DataLoaderBuilder::new(CloudBatcher::resample(1024, 3))
            .batch_size(16)
            .shuffle(7)
            .num_workers(2)
            .build(ds);
        let mut seen = 0;
        for batch in loader.iter() {
            let batch = batch.unwrap();
            let [b, p, d] = batch.points.dims();
            assert_eq!((p, d), (1024, 3));
            let v: Vec<f32> = batch.points.into_data().try_to_vec::<f32>().unwrap();
            assert!(
                v.iter().all(|x| x.abs() <= 1.0 + 1e-5),
                "normalised into the unit ball"
            );
            seen += b;
        }
        assert_eq!(seen, 50);
    }
}
