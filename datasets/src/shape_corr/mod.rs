//! Shape-correspondence data: the ULRSSM / EOT-Correspondence folder layout (`off/`,
//! `corres/*.vts`, `dist/*.mat`) and a synthetic benchmark of near-isometric pairs with known
//! correspondence that needs no download.

mod export;
mod geodesic;
mod layout;
mod mat;
mod synthetic;
mod vts;

pub use export::{coordinate_colors, write_colored_ply, write_correspondence_pair};
pub use geodesic::{edge_graph_geodesics, normalised_geodesics};
pub use layout::{CorrShape, CorrespondenceFolder};
pub use mat::read_dist_mat;
pub use synthetic::{SyntheticCorrConfig, synthetic_collection};
pub use vts::read_vts;
