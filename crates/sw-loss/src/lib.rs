#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod allocator;
mod chunked;
pub mod circle;
pub mod config;
pub mod control_variates;
pub mod directions;
pub mod ebsw;
pub mod error;
pub mod exact;
pub mod functional;
pub mod gsw;
mod host;
pub mod kernel;
pub mod kernel_support;
pub mod lcot;
pub mod loss;
pub mod max_sliced;
pub mod measure;
pub mod memory;
pub mod mesh;
pub mod one_d;
pub mod plans;
pub mod pot;
pub mod qmc;
pub mod rpsw;
pub mod s3w;
pub mod sliced;
pub mod sphere;
pub mod unbalanced;
pub mod vmf;

pub use config::{EstimatorKind, LossConfig};
pub use control_variates::{ControlVariate, Gamma};
pub use directions::{DirectionKind, DirectionSets, Directions};
pub use error::{Result, SwError};
pub use exact::{exact_emd, exact_w2sq};
pub use functional::{
    cv_sw_pp_with_directions, cv_sw_with_directions, lcv_sw, lcv_sw_pp, sw, sw_pp,
    sw_pp_with_directions, sw_with_directions, ucv_sw, ucv_sw_pp,
};
pub use loss::{SlicedWasserstein, SlicedWassersteinConfig, SwValue};
pub use max_sliced::{AscentOptimizer, AscentOptions, MaxSwOptions, max_sw, max_sw_direction};
pub use measure::Measure;
pub use memory::{DEFAULT_MEMORY_BUDGET, MemoryPlan};
pub use pot::sliced_wasserstein_distance;
pub use sliced::{BatchReduction, SlicedOptions, Slicing, projected_wpp};
pub use vmf::{VdswOptions, dsw_vmf};
