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
    if cfg!(feature = "tch") {
        v.push("tch");
        v.push("tch-cuda:N");
    }
    v
}

/// The device named `name` (`flex`, `ndarray`, `wgpu`, `cuda`, `tch`, `tch-cuda:N`).
pub fn parse(name: &str) -> Result<Device> {
    if let Some(index) = name.strip_prefix("tch-cuda") {
        let index = match index.strip_prefix(':') {
            Some(i) => i.parse::<usize>().map_err(|_| {
                anyhow::anyhow!(
                    "device `{name}`: expected tch-cuda:N with N a GPU index (tch-cuda:0)"
                )
            })?,
            None if index.is_empty() => 0,
            None => bail!("unknown device `{name}`; expected tch-cuda:N (e.g. tch-cuda:0)"),
        };
        return tch_cuda(name, index);
    }
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
        // Burn marks its LibTorch backend deprecated; it is this project's route to PyTorch's
        // CPU and CUDA kernels (scripts/tch_env.sh).
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch" => Device::libtorch(),
        known if ["flex", "ndarray", "wgpu", "cuda", "tch"].contains(&known) => bail!(
            "device `{known}` is not compiled into this binary; compiled: {}. Rebuild with `--features {known}` (e.g. cargo run --release -p experiments --features {known} -- ...)",
            compiled().join(", ")
        ),
        other => bail!(
            "unknown device `{other}`; expected one of flex, ndarray, wgpu, cuda, tch, tch-cuda:N (compiled: {})",
            compiled().join(", ")
        ),
    };
    Ok(device)
}

/// LibTorch on CUDA device `index`, after checking that this LibTorch sees that GPU.
#[cfg(feature = "tch")]
fn tch_cuda(name: &str, index: usize) -> Result<Device> {
    let count = tch::Cuda::device_count();
    if index as i64 >= count {
        bail!(
            "device `{name}`: LibTorch sees {count} CUDA device(s) (is this the CUDA build of torch, \
             and is a GPU visible?)"
        );
    }
    #[allow(deprecated)]
    Ok(Device::libtorch_cuda(index))
}

#[cfg(not(feature = "tch"))]
fn tch_cuda(name: &str, _index: usize) -> Result<Device> {
    bail!(
        "device `{name}` is not compiled into this binary; compiled: {}. Build with `--features tch` \
         in the environment of scripts/tch_env.sh",
        compiled().join(", ")
    )
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
