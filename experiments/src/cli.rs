//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Train and evaluate models with sliced-Wasserstein losses.
#[derive(Debug, Parser)]
#[command(name = "experiments", version, about)]
pub struct Cli {
    /// The experiment's TOML config, e.g. configs/gradient_flow.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Backend: flex (default), ndarray, wgpu or cuda (each must be compiled in).
    #[arg(long)]
    pub device: Option<String>,
    /// Seed of the device RNG and of the data (overrides the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Root of the run folders (default: ./runs).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override a config value, e.g. --set flow.steps=100 (repeatable; TOML syntax).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,
    /// Continue a training run from its last good checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// With --resume: continue from this checkpoint (a folder name under RUN_DIR/checkpoints,
    /// e.g. step-4) instead of the latest; the checkpoints after it are set aside, not deleted.
    #[arg(long, value_name = "NAME", requires = "resume")]
    pub from_checkpoint: Option<String>,
    /// A subcommand instead of a run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the configs with one-line descriptions.
    List {
        /// Folder of configs (default: ./configs).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Evaluate a trained autoencoder: Chamfer, EMD and SW on ModelNet40 (or the run's own
    /// held-out synthetic clouds), and a linear classifier on the latent codes.
    EvalAe {
        /// The run folder of an autoencoder training.
        #[arg(long)]
        run: PathBuf,
        /// ModelNet40 folder (with modelnet40_ply_hdf5_2048/); default: $SWBURN_DATA. The
        /// reconstruction metrics average over every .h5 directly in it, train and test (the
        /// official set); the test split alone is an extra column.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Use only the first N clouds of the official set for the reconstruction metrics
        /// (the EMDs cost about a second per cloud); the classifiers always use every code.
        #[arg(long)]
        subset: Option<usize>,
        /// Which checkpoint: `best` (lowest mean training loss, the official model.pth) or
        /// `latest`.
        #[arg(long, value_enum, default_value_t = Checkpoint::Best)]
        checkpoint: Checkpoint,
        /// Skip the exact EMD column (the approxmatch EMD, the paper's, is always computed).
        #[arg(long)]
        no_exact_emd: bool,
        /// Evaluate on synthetic clouds instead of ModelNet40 (for runs trained on synthetic data).
        #[arg(long)]
        synthetic: bool,
        /// Epochs of the official MLP classifier (class_train_config.json: num_epochs 500).
        #[arg(long, default_value_t = 500)]
        classifier_epochs: usize,
    },
    /// Write N images of a trained SNGAN's EMA generator as PNGs (e.g. 50 000 for FID).
    Sample {
        /// The run folder of an SNGAN training.
        #[arg(long)]
        run: PathBuf,
        /// Number of images.
        #[arg(long, default_value_t = 50_000)]
        n: usize,
        /// A new (or empty) folder for the PNGs.
        #[arg(long)]
        out: PathBuf,
        /// Images generated per forward.
        #[arg(long, default_value_t = 100)]
        batch: usize,
    },
    /// FID and Inception Score of a trained SNGAN's EMA generator (the paper's metrics).
    EvalGan {
        /// The run folder of an SNGAN training.
        #[arg(long)]
        run: PathBuf,
        /// The FID Inception weights: pt_inception-2015-12-05-6726825d.pth (or .safetensors), or
        /// `stand-in` (a tiny network with the same interface; its scores mean nothing).
        #[arg(long)]
        inception: PathBuf,
        /// Reference statistics (.npz with mu, sigma), e.g. fid_stats_cifar10_train.npz.
        #[arg(long)]
        stats: PathBuf,
        /// Number of generated images (50 000 in the paper; at least 10, the IS splits).
        #[arg(long, default_value_t = 50_000)]
        n: usize,
        /// Images per Inception forward.
        #[arg(long, default_value_t = 50)]
        batch: usize,
    },
    /// Download, verify and unpack a dataset (cifar10) into $SWBURN_DATA (default ./data).
    Download {
        /// The dataset: cifar10 (modelnet40 and shapenet55 are placed by hand, see datasets/README.md).
        name: String,
        /// Data folder (overrides $SWBURN_DATA).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Which checkpoint `eval-ae` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Checkpoint {
    /// `checkpoints/best/`: the epoch with the lowest mean training loss (official model.pth).
    Best,
    /// The latest checkpoint (`checkpoints/LATEST`).
    Latest,
}
