#!/usr/bin/env bash
# The full kill -9 torture of issue 9 against the real mail stack: REQUESTS requests arrive while
# the daemon is SIGKILLed KILLS times at random moments and restarted; then it checks that no
# request is lost, no case is duplicated, extra acknowledgements <= kills, nothing is left in the
# INBOX or the outbox. It is the suite's own test (tests/daemon/durability.rs), which runs a small
# schedule (100 requests, 5 kills); this script runs it at full size.
#
#   scripts/torture.sh [REQUESTS [KILLS [SEED]]]     defaults: 1000 requests, 20 kills, a new seed
#
# The figures (and the seed, to replay a schedule) are printed on one line, "kill -9 torture: ...".
# Needs root for the mail stack (scripts/mailstack.sh), like the suite. On a shared machine, run it
# under the stack's lock: flock /tmp/foi-mailstack.lock scripts/torture.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export FOI_TORTURE_REQUESTS=${1:-1000}
export FOI_TORTURE_KILLS=${2:-20}
if [ -n "${3:-}" ]; then export FOI_TORTURE_SEED=$3; fi

bash scripts/mailstack.sh install
cargo test --locked --test tests -- --exact \
  daemon::durability::kill_9_at_random_moments_loses_and_duplicates_nothing --nocapture
