#!/usr/bin/env bash
# The slow tests: every test marked #[ignore = "slow: run by .ci/slow-tests.sh"] — the soak tests
# (1,000 sessions through a flaky receiver, 10,000 open connections, slowloris, oversized bodies),
# the 250/500-delivery load tests, and the proptests with many cases. `cargo test --workspace`
# skips them so that it stays quick; this stage runs them, one at a time (they measure memory and
# hold thousands of connections: running them side by side would skew each other).
#
# Knobs (environment): SLOW_TESTS_TIMEOUT (seconds for the whole stage, default 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (the rust machine ships it)" >&2
  exit 1
fi

budget="${SLOW_TESTS_TIMEOUT:-1800}"
echo "== building the test binaries"
cargo test --workspace --tests --no-run --quiet
echo "== the ignored (slow) tests, one at a time (at most ${budget}s)"
# --tests: every unit- and integration-test binary, no doctests (an `ignore`d doctest is not a slow test).
timeout --kill-after=30 "$budget" cargo test --workspace --tests -- --ignored --test-threads=1
