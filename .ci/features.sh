#!/usr/bin/env bash
# Feature hygiene: the library crates do not change the user's build (COMMON quality bar,
# issue 16 point 4).
#
# 1. uip-sandbox as a test dependency (`default-features = false`: no clap, tracing-subscriber or
#    SQLite) builds warning-free, starts and runs a session: clippy of the library and its tests, its doctests and
#    tests/minimal.rs (which also checks that a database path is refused without `sqlite`);
# 2. every single feature of uip-sandbox builds on its own (`cli`, `sqlite`);
# 3. the dependency graph of each library crate (uip-types, uip-client, uip-webhook-verify with
#    their defaults, uip-sandbox without them) turns on none of: tokio "full" /
#    "rt-multi-thread" / "signal", hyper "full", hyper-util "full", serde_json "preserve_order"
#    (uip-sandbox keeps preserve_order: its answers' key order is part of its output).
#
# Knobs (environment): FEATURES_TIMEOUT (seconds for the whole script, default 1800),
# CARGO_TARGET_DIR (as cargo's).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

if [[ -z "${FEATURES_TIMEOUT_INNER:-}" ]]; then
  export FEATURES_TIMEOUT_INNER=1
  exec timeout --kill-after=30 "${FEATURES_TIMEOUT:-1800}" "$0" "$@"
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo is required" >&2; exit 1; }

echo "== uip-sandbox, default features off"
cargo clippy -p uip-sandbox --no-default-features --all-targets -- -D warnings
cargo test -p uip-sandbox --no-default-features --test minimal
cargo test -p uip-sandbox --no-default-features --doc

echo "== uip-sandbox, one feature at a time"
cargo check -p uip-sandbox --no-default-features --features cli --lib --bins
cargo check -p uip-sandbox --no-default-features --features sqlite --lib

echo "== library crates: no build-wide features turned on"
fail=0
# Inverted trees (`-i`): they also show the features a crate's own features turn on.
check_graph() {
  local crate="$1"; shift
  local forbidden="$1"; shift
  local hits="" dep out
  for dep in tokio hyper hyper-util serde_json; do
    if out="$(cargo tree -p "$crate" "$@" -e features,normal --prefix none -i "$dep" 2>&1)"; then
      hits+="$(grep -E "$forbidden" <<<"$out" | sed "s/ (\*)$//" || true)"$'\n'
    elif ! grep -q "did not match any packages" <<<"$out"; then
      echo "$out" >&2
      return 1
    fi
  done
  hits="$(grep -v '^$' <<<"$hits" | sort -u || true)"
  if [[ -n "$hits" ]]; then
    echo "FAIL $crate $*: turns on"
    sed 's/^/  /' <<<"$hits"
    fail=1
  else
    echo "ok   $crate $*"
  fi
}
runtime='^(tokio feature "(full|rt-multi-thread|signal)"|hyper feature "full"|hyper-util feature "full")'
order='^serde_json feature "preserve_order"'
check_graph uip-types "$runtime|$order"
check_graph uip-types "$runtime|$order" --features openapi
check_graph uip-client "$runtime|$order"
check_graph uip-webhook-verify "$runtime|$order"
check_graph uip-webhook-verify "$runtime|$order" --features axum,actix
check_graph uip-sandbox "$runtime" --no-default-features
check_graph uip-sandbox "$runtime" --no-default-features --features sqlite
exit "$fail"
