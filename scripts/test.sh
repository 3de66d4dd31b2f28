#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
#
#   scripts/test.sh
#
# Installs what it needs (Debian packages via scripts/install-deps.sh and the mail stack via
# scripts/mailstack.sh install), then: formatting, clippy
# with warnings as errors, every unit and integration test (including the real-world corpus in
# ../shared/corpus when present), the Debian package (scripts/package-test.sh), a bounded fuzz
# run, and the officers' sample set through
# `foi-triage rules test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The real mail stack (Dovecot + Postfix from Debian packages) that the IMAP and SMTP tests start on
# loopback ports; stop whatever the tests started when we finish, pass or fail.
bash scripts/mailstack.sh install
stop_stacks() {
  for d in /var/tmp/foi-imap-test /var/tmp/foi-smtp-test /var/tmp/foi-outbox-test /var/tmp/foi-daemon-test /var/tmp/foi-outage-test /var/tmp/foi-bench-stack /var/tmp/foi-ns-test /var/tmp/foi-package-test; do
    [ -d "$d" ] && bash scripts/mailstack.sh stop "$d" >/dev/null 2>&1 || true
  done
}
trap stop_stacks EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --locked --all-targets

# The Debian package, built from the binary cargo test just built, installed, run as the service
# user against a mail stack, removed and purged (SKIPPED when not root).
echo "== package test"
bash scripts/package-test.sh

# A bounded fuzz run (scripts/fuzz.sh; the long one is the same script with more seconds). It
# needs the nightly toolchain; without one it says so and the rest of the suite still counts.
fuzz_seconds=${FOI_FUZZ_SECONDS:-90}
echo "== fuzz (${fuzz_seconds} s over the pipeline, decoder and TOML targets)"
if cargo +nightly --version >/dev/null 2>&1; then
  fuzz_corpus=$(mktemp -d)
  FOI_FUZZ_CORPUS=$fuzz_corpus bash scripts/fuzz.sh "$fuzz_seconds"
  rm -rf "$fuzz_corpus"
else
  echo "fuzz: SKIPPED, no nightly toolchain on this machine (rustup toolchain list)"
fi

echo "== rules test over the sample set"
cargo run --locked --quiet -- rules test --rules rules tests/data/samples
# The held-out sets kept after measuring them, each with its body's config.
for body in northbridge westmoor glenbrae; do
  echo "== rules test over the held-out $body set, with that body's config"
  cargo run --locked --quiet -- rules test --rules rules \
    --config "tests/data/samples-$body/$body.toml" "tests/data/samples-$body"
done
