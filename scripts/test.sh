#!/usr/bin/env bash
# The project's test command (README.md; `.ci/run` calls exactly this).
#
# 1. The wgpu tests run on a Vulkan driver. When the machine has none, this installs Debian's
#    software one (lavapipe: mesa-vulkan-drivers + the libvulkan1 loader) — with sudo when not
#    root; elsewhere it says what to install and stops.
# 2. Every benchmark is compiled (`--benches --no-run`), so a bench that no longer builds fails.
# 3. The whole suite runs in the shared release profile (Burn compiles once for tests and runs).
# 4. The code is formatted (`cargo fmt --check`); clippy passes on every target with warnings
#    denied (the lints are `[workspace.lints]` in Cargo.toml, `undocumented_unsafe_blocks`
#    among them); every crate's rustdoc builds with warnings denied; and sw-loss is checked as
#    a published crate with `cargo package` (which builds the packaged crate alone, with its
#    default feature, in the dev profile).
#
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -- flow` to filter).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/swburn-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
FEATURES=sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu

have_vulkan() {
  # The loader (ldconfig lives in /sbin, off a normal user's PATH) and at least one driver manifest.
  { PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; } &&
    { compgen -G '/usr/share/vulkan/icd.d/*.json' >/dev/null ||
      compgen -G '/etc/vulkan/icd.d/*.json' >/dev/null; }
}
if ! have_vulkan; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 || {
        echo "scripts/test.sh: no Vulkan driver found and not root: install mesa-vulkan-drivers libvulkan1" >&2
        exit 1
      }
      sudo="sudo"
    fi
    echo "scripts/test.sh: no Vulkan driver found; installing Debian's lavapipe (mesa-vulkan-drivers libvulkan1)"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1
  else
    echo "scripts/test.sh: the wgpu tests need a Vulkan driver and loader (on Debian/Ubuntu:" \
      "mesa-vulkan-drivers libvulkan1; Fedora: mesa-vulkan-drivers vulkan-loader)." >&2
    exit 1
  fi
fi
# The Vulkan loader's window-system probe prints "XDG_RUNTIME_DIR is invalid" without one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d)"
  export XDG_RUNTIME_DIR
fi

cargo --version
cargo fmt --all --check
cargo test --release --workspace --features "$FEATURES" --benches --no-run
cargo test --release --workspace --features "$FEATURES" "$@"
cargo clippy --workspace --all-targets --features "$FEATURES" -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --features "$FEATURES"
cargo package -p sw-loss
