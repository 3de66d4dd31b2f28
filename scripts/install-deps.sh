#!/usr/bin/env bash
# Installs what building and testing foi-triage needs on a fresh Debian machine, and nothing that
# is already there. Idempotent; needs root only when something is missing.
set -euo pipefail

# --package: also what scripts/package-test.sh needs to build and try the Debian package.
package=false
[ "${1:-}" = --package ] && package=true

need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
if $package; then
  # adduser: the package's postinst makes its system user; python3: the test sends its request.
  command -v adduser >/dev/null || need+=(adduser)
  command -v python3 >/dev/null || need+=(python3)
fi
command -v pkg-config >/dev/null || need+=(pkg-config)
# systemd-analyze: the suite scores the unit's sandbox (tests/systemd.rs).
# strace: tests/sandbox.rs traces the attachment decoder against the unit's seccomp filter.
command -v strace >/dev/null || need+=(strace)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install the Rust toolchain (rustup, stable >= 1.95) first" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

# cargo-fuzz drives the fuzz targets (scripts/fuzz.sh, and its bounded run in scripts/test.sh);
# it needs the nightly toolchain, and builds from crates.io in about 35 s.
if ! command -v cargo-fuzz >/dev/null && cargo +nightly --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi

# cargo-deb builds the Debian package (Cargo.toml [package.metadata.deb]); only for --package.
# From crates.io, built here (no prebuilt binary); pinned: 3.8 still packages the dev profile
# (with a warning), which package-test.sh uses to avoid a second, release build in CI.
if $package && ! command -v cargo-deb >/dev/null; then
  cargo install cargo-deb --version 3.8.0 --locked --quiet
fi
