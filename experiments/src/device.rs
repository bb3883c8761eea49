//! Backend selection by name.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// The backends compiled into this binary.
pub fn compiled() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    v
}

/// The device named `name` (`flex`, `ndarray`, `wgpu`, `cuda`).
pub fn parse(name: &str) -> Result<Device> {
    let device = match name {
        #[cfg(feature = "flex")]
        "flex" => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda(0),
        known if ["flex", "ndarray", "wgpu", "cuda"].contains(&known) => bail!(
            "device `{known}` is not compiled into this binary; compiled: {}. Rebuild with `--features {known}` (e.g. cargo run --release -p experiments --features {known} -- ...)",
            compiled().join(", ")
        ),
        other => bail!(
            "unknown device `{other}`; expected one of flex, ndarray, wgpu, cuda (compiled: {})",
            compiled().join(", ")
        ),
    };
    Ok(device)
}

/// The backend a run uses: `--device`, else the config's `device`, else `flex`; with its name
/// for the log (and the adapter on a GPU backend: `wgpu (NVIDIA H200)`).
pub fn resolve(cli_device: Option<&str>, config_device: Option<&str>) -> Result<(String, Device)> {
    let name = cli_device.or(config_device).unwrap_or("flex").to_string();
    let device = parse(&name)?;
    let name = match sw_loss::kernel::cube_device_name(&device) {
        Some(adapter) => format!("{name} ({adapter})"),
        None => name,
    };
    Ok((name, device))
}
