//! DiffusionNet (official `DiffusionNet`, `output_at='vertices'`, no last activation).
//!
//! ```text
//! x → Linear(in, hidden) → n_block × DiffusionNetBlock(hidden) → Linear(hidden, out)
//! ```
//! EOT-Correspondence `options/train/faust.yaml`: `in_channels: 128` (WKS), `out_channels: 256`;
//! class defaults `hidden_channels=128`, `n_block=4`, `mlp_hidden_channels=[128, 128]`,
//! `dropout=True`, `k_eig=128` (diffusion uses the first 128 eigenpairs).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::block::{DiffusionNetBlock, DiffusionNetBlockConfig};
use super::operators::MeshOperators;

/// Configuration of [`DiffusionNet`].
#[derive(Config, Debug)]
pub struct DiffusionNetConfig {
    /// Input channels (official FAUST: 128 WKS descriptors).
    #[config(default = 128)]
    pub in_channels: usize,
    /// Output channels (official FAUST: 256).
    #[config(default = 256)]
    pub out_channels: usize,
    /// Width of the blocks (official default 128).
    #[config(default = 128)]
    pub hidden_channels: usize,
    /// Number of blocks (official default 4).
    #[config(default = 4)]
    pub blocks: usize,
    /// Dropout in the block MLPs (official default true).
    #[config(default = true)]
    pub dropout: bool,
    /// Eigenpairs used by the diffusion (official `k_eig=128`).
    #[config(default = 128)]
    pub k_eig: usize,
}

impl DiffusionNetConfig {
    /// Builds the network with PyTorch's default linear initialisation.
    pub fn init(&self, device: &Device) -> DiffusionNet {
        let h = self.hidden_channels;
        DiffusionNet {
            first: LinearConfig::new(self.in_channels, h).init(device),
            blocks: (0..self.blocks)
                .map(|_| {
                    DiffusionNetBlockConfig::new(h, vec![h, h])
                        .with_dropout(self.dropout)
                        .init(device)
                })
                .collect(),
            last: LinearConfig::new(h, self.out_channels).init(device),
            k_eig: self.k_eig,
        }
    }
}

/// Per-vertex features of a mesh.
#[derive(Module, Debug)]
pub struct DiffusionNet {
    first: Linear,
    /// The diffusion blocks.
    pub blocks: Vec<DiffusionNetBlock>,
    last: Linear,
    k_eig: usize,
}

impl DiffusionNet {
    /// Projects every block's diffusion times onto `t ≥ 1e-8` (after an optimiser step).
    pub fn clamp_times(mut self) -> Self {
        self.blocks = self
            .blocks
            .into_iter()
            .map(DiffusionNetBlock::clamp_times)
            .collect();
        self
    }

    /// # Shapes
    /// `x` `[V, in]` (e.g. WKS) → `[V, out]`; `ops` of the same mesh (any K ≥ 1; the first
    /// `k_eig` eigenpairs are used).
    pub fn forward(&self, x: Tensor<2>, ops: &MeshOperators) -> Tensor<2> {
        assert_eq!(
            x.dims()[0],
            ops.num_vertices(),
            "features and operators disagree on V"
        );
        let ops = ops.truncate(self.k_eig);
        let mut h = self.first.forward(x); // [V, hidden]
        for block in &self.blocks {
            h = block.forward(h, &ops); // [V, hidden]
        }
        self.last.forward(h) // [V, out]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use datasets::Mesh;
    use datasets::geometry::SpectralOperators;
    use datasets::synthetic_mesh::bumpy_sphere;

    fn run(net: &DiffusionNet, mesh: &Mesh, device: &Device) -> Vec<f32> {
        let spectral = SpectralOperators::compute(mesh, 30).unwrap();
        let ops = MeshOperators::new(&spectral, 30, device);
        let wks = spectral.wks().unwrap();
        let v = mesh.num_vertices();
        let x = Tensor::<2>::from_data(
            TensorData::new(wks.iter().map(|&w| w as f32).collect::<Vec<_>>(), [v, 128]),
            device,
        );
        net.forward(x, &ops)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    }

    /// Relabelling the vertices relabels the output rows and changes nothing else.
    #[test]
    fn output_is_equivariant_to_a_vertex_permutation() {
        let device = Device::flex();
        let net = DiffusionNetConfig::new()
            .with_out_channels(8)
            .with_hidden_channels(16)
            .with_blocks(2)
            .with_k_eig(30)
            .init(&device);
        // give the diffusion times non-trivial values (they start at 0)
        let net = DiffusionNet {
            blocks: net
                .blocks
                .into_iter()
                .map(|mut b| {
                    b.diffusion.time = b.diffusion.time.map(|t| t.add_scalar(0.05));
                    b
                })
                .collect(),
            ..net
        };
        let mesh = bumpy_sphere(2, 0.25, 11); // 162 vertices, no symmetry
        let v = mesh.num_vertices();
        let perm: Vec<usize> = (0..v).map(|i| (i * 37 + 5) % v).collect(); // new i ← old perm[i]
        let mut inverse = vec![0u32; v];
        for (new, &old) in perm.iter().enumerate() {
            inverse[old] = new as u32;
        }
        let permuted = Mesh::new(
            perm.iter()
                .flat_map(|&o| mesh.vertices[3 * o..3 * o + 3].to_vec())
                .collect(),
            mesh.faces.iter().map(|&f| inverse[f as usize]).collect(),
        )
        .unwrap();
        let a = run(&net, &mesh, &device);
        let b = run(&net, &permuted, &device);
        let scale = a.iter().fold(0f32, |m, x| m.max(x.abs()));
        for (new, &old) in perm.iter().enumerate() {
            for c in 0..8 {
                let (x, y) = (a[old * 8 + c], b[new * 8 + c]);
                assert!(
                    (x - y).abs() < 1e-3 * scale,
                    "vertex {old}→{new} channel {c}: {x} vs {y}"
                );
            }
        }
    }
}
