#!/usr/bin/env bash
# Installs what building and testing foi-triage needs on a fresh Debian machine, and nothing that
# is already there. Idempotent; needs root only when something is missing.
set -euo pipefail

need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
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
