//! The per-cloud measurements of an autoencoder, shared by the end of training
//! ([`super::train`]) and `eval-ae` ([`super::eval`]): the codes and reconstructions of clouds
//! in inference mode, Chamfer, the paper's SW metric √(N·SW₂²) with L = 100 fresh directions per
//! cloud, the approxmatch EMD, and Python's mean and sample standard deviation.

use anyhow::{Result, anyhow};
use burn::tensor::{Device, Tensor, TensorData};
use datasets::shapenet::CloudItem;
use models::evaluation::approx_match;
use models::mesh_ode::metrics::point_metrics;
use models::pointnet::PointNetAutoencoder;
use rayon::prelude::*;
use sw_loss::{BatchReduction, Directions, Measure, sw_pp_with_directions};

/// Mean and sample standard deviation (n − 1; 0 for fewer than two values), as Python's
/// `statistics.mean` / `statistics.stdev`.
pub(super) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    let m = v.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    (m, var.sqrt())
}

/// Evaluation clouds, each at its own number of points (a file may hold more points per cloud
/// than the model decodes).
pub(super) struct EvalClouds {
    pub(super) inputs: Vec<Vec<f32>>,
}

impl EvalClouds {
    /// The clouds of `items`.
    pub(super) fn new(items: &[CloudItem]) -> Self {
        Self {
            inputs: items.iter().map(|c| c.cloud.points.clone()).collect(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Cloud `i`, row-major `[P_i, 3]`.
    pub(super) fn input(&self, i: usize) -> &[f32] {
        &self.inputs[i]
    }

    /// Reconstructions `[n, points, 3]` (row-major) in inference mode, in chunks of clouds of
    /// equal size small enough for any device (see [`encode`]).
    pub(super) fn reconstruct(&self, model: &PointNetAutoencoder, device: &Device) -> Vec<f32> {
        encode(model, &self.inputs, device, true).1
    }

    /// Chamfer per cloud (reconstruction with `points` points against the input).
    pub(super) fn chamfer(&self, recon: &[f32], points: usize) -> Vec<f64> {
        let per = points * 3;
        self.inputs
            .par_iter()
            .enumerate()
            .map(|(i, x)| point_metrics(&recon[i * per..(i + 1) * per], x).chamfer)
            .collect()
    }

    /// The paper's SW per cloud, √(N·SW₂²) with L = 100 fresh directions per cloud; `None`
    /// when some input does not have `points` points (the sorted matching needs equal sizes).
    pub(super) fn sw_metric(
        &self,
        recon: &[f32],
        points: usize,
        device: &Device,
    ) -> Result<Option<Vec<f64>>> {
        if self.inputs.iter().any(|x| x.len() != points * 3) {
            return Ok(None);
        }
        let targets: Vec<f32> = self.inputs.iter().flatten().copied().collect();
        Ok(Some(sw_metric_per_cloud(
            recon,
            &targets,
            points,
            device,
            SW_METRIC_CHUNK,
        )?))
    }

    /// The approxmatch EMD per cloud (the paper's column, [`approx_match`]); `None` when some
    /// input does not have `points` points (the official `emd_approx` needs equal sizes).
    pub(super) fn emd_approxmatch(&self, recon: &[f32], points: usize) -> Result<Option<Vec<f64>>> {
        if self.inputs.iter().any(|x| x.len() != points * 3) {
            return Ok(None);
        }
        let per = points * 3;
        let costs = self
            .inputs
            .par_iter()
            .enumerate()
            .map(|(i, x)| Ok(approx_match(&recon[i * per..(i + 1) * per], x)?.cost))
            .collect::<Result<Vec<f64>>>()?;
        Ok(Some(costs))
    }
}

/// hsgser/Self-Amortized-DSW reconstruction_test.py: `num_projs` 100 (reconstruction/config.json).
pub(super) const SW_METRIC_PROJECTIONS: usize = 100;

/// Clouds whose SW metric is evaluated together (all their directions at once).
pub(super) const SW_METRIC_CHUNK: usize = 64;

/// √(N·SW₂²(recon_i, target_i)) for each pair of `[n, points, 3]` clouds, with L = 100
/// directions drawn afresh for every cloud, `chunk` pairs at a time.
pub(super) fn sw_metric_per_cloud(
    recons: &[f32],
    targets: &[f32],
    points: usize,
    device: &Device,
    chunk: usize,
) -> Result<Vec<f64>> {
    let per = points * 3;
    let mut out = Vec::with_capacity(targets.len() / per.max(1));
    for (x, y) in recons.chunks(chunk * per).zip(targets.chunks(chunk * per)) {
        let k = x.len() / per;
        let t = |v: &[f32]| {
            Measure::new(Tensor::<3>::from_data(
                TensorData::new(v.to_vec(), [k, points, 3]),
                device,
            ))
        };
        let dirs = Directions::PerPair(sw_loss::directions::uniform_batched(
            k,
            SW_METRIC_PROJECTIONS,
            3,
            device,
        ));
        let swpp: Vec<f32> =
            sw_pp_with_directions(&t(x), &t(y), &dirs, 2.0, BatchReduction::PerPair)?
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow!("{e:?}"))?;
        out.extend(swpp.iter().map(|v| (points as f64 * *v as f64).sqrt()));
    }
    Ok(out)
}

/// Latent codes `[n, latent]` and (with `decode`) reconstructions `[n, points, 3]` of clouds,
/// in batches of clouds of equal size (inference).
pub(super) fn encode(
    model: &PointNetAutoencoder,
    clouds: &[Vec<f32>],
    device: &Device,
    decode: bool,
) -> (Vec<f32>, Vec<f32>) {
    let (mut codes, mut recons) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < clouds.len() {
        let p = clouds[start].len() / 3;
        // The encoder's widest activation is [chunk, P, 1024] f32; keep it within 128 MiB,
        // the smallest storage-buffer limit a wgpu device may have (lavapipe's, WebGPU's).
        let limit = ((128usize << 20) / (p.max(1) * 1024 * 4)).clamp(1, 64);
        let mut end = start + 1;
        while end < clouds.len() && end - start < limit && clouds[end].len() == p * 3 {
            end += 1;
        }
        let flat: Vec<f32> = clouds[start..end].iter().flatten().copied().collect();
        let x = Tensor::<3>::from_data(TensorData::new(flat, [end - start, p, 3]), device);
        let z = model.encode(x);
        if decode {
            recons.extend(
                model
                    .decode(z.clone())
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32"),
            );
        }
        codes.extend(
            z.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32"),
        );
        start = end;
    }
    (codes, recons)
}
