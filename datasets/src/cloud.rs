//! A point cloud as plain host data: `[n, 3]` f32, row-major.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{DataError, Result};

/// Checks that every coordinate of row-major `(N, P, 3)` clouds is finite; the error names
/// `path`, the cloud index, the point index and the value.
pub fn check_finite_clouds(path: &Path, values: &[f32], points: usize) -> Result<()> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let stride = (points * 3).max(1);
        let (cloud, within) = (i / stride, i % stride);
        return Err(DataError::format(
            path,
            format!(
                "cloud {cloud}, point {}: coordinate {} is {} (every coordinate must be finite)",
                within / 3,
                ["x", "y", "z"][within % 3],
                values[i]
            ),
        ));
    }
    Ok(())
}

/// A 3-D point cloud, `points.len() == 3 n`.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCloud {
    /// Row-major `[n, 3]` coordinates.
    pub points: Vec<f32>,
}

impl PointCloud {
    /// Wraps row-major `[n, 3]` coordinates.
    pub fn new(points: Vec<f32>) -> Self {
        assert_eq!(
            points.len() % 3,
            0,
            "a point cloud holds 3 coordinates per point"
        );
        Self { points }
    }

    /// Number of points n.
    pub fn len(&self) -> usize {
        self.points.len() / 3
    }

    /// Whether the cloud has no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The centroid (1/n) Σ x_i.
    pub fn centroid(&self) -> [f32; 3] {
        let mut c = [0f64; 3];
        for p in self.points.chunks_exact(3) {
            for k in 0..3 {
                c[k] += p[k] as f64;
            }
        }
        let n = self.len().max(1) as f64;
        [(c[0] / n) as f32, (c[1] / n) as f32, (c[2] / n) as f32]
    }

    /// x ↦ a·x + b (per axis offset b).
    pub fn affine(mut self, scale: f32, offset: [f32; 3]) -> Self {
        for p in self.points.chunks_exact_mut(3) {
            for k in 0..3 {
                p[k] = p[k] * scale + offset[k];
            }
        }
        self
    }

    /// Centres on the centroid and scales into the unit ball (max ‖x_i‖ = 1), as the
    /// ShapeNet pipelines do per item.
    pub fn normalized(self) -> Self {
        let c = self.centroid();
        let centred = self.affine(1.0, [-c[0], -c[1], -c[2]]);
        let r = centred
            .points
            .chunks_exact(3)
            .map(|p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt())
            .fold(0f32, f32::max);
        if r > 0.0 {
            centred.affine(1.0 / r, [0.0; 3])
        } else {
            centred
        }
    }

    /// The cloud as a tensor `[n, 3]` on `device`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.points.clone(), [self.len(), 3]),
            device,
        )
    }

    /// Reads a `[n, 3]` tensor back into a cloud.
    pub fn from_tensor(t: Tensor<2>) -> Self {
        let v: Vec<f32> = t
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 data");
        Self::new(v)
    }
}
