//! The PointNet autoencoder of the SW point-cloud papers (PointSWD; Self-Attention Amortized
//! DSW): a permutation-invariant encoder to a unit latent code and an MLP decoder to a cloud.

mod autoencoder;
mod encoder;

pub use autoencoder::{PointNetAutoencoder, PointNetConfig};
pub use encoder::PointNetEncoder;
pub(crate) use encoder::linear as linear_xavier;
