#!/usr/bin/env bash
# Short, seeded cargo-fuzz runs of every fuzz target, from the committed corpora.
#
# Targets: uip-types parse_create_session and wallet_response_json, uip-sandbox
# create_session_http and page_response (the real router, in-process), uip-webhook-verify verify.
# Each runs FUZZ_SECONDS (default 12; 5 targets = 60 s of fuzzing) after all are built. New inputs
# go to a scratch folder, never into the committed corpus; a crash fails the script and leaves
# the input under <crate>/fuzz/artifacts/<target>/. A longer run: FUZZ_SECONDS=600 .ci/fuzz.sh
# (or see SECURITY.md).
#
# cargo fuzz passes nightly-only flags (-Zsanitizer…) to rustc. No nightly toolchain is needed:
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept them. The sanitizer is off (`-s none`): every
# crate of ours forbids unsafe code, so coverage-guided search plus the targets' own checks is
# what finds bugs here, and the builds are faster.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-12}"
seed="${FUZZ_SEED:-1}"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
target_dir="${FUZZ_TARGET_DIR:-$PWD/target-fuzz}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi

targets=(
  "uip-types parse_create_session"
  "uip-types wallet_response_json"
  "uip-sandbox create_session_http"
  "uip-sandbox page_response"
  "uip-webhook-verify verify"
)
flags=(-s none --codegen-units 16 --target-dir "$target_dir")

for crate in uip-types uip-sandbox uip-webhook-verify; do
  echo "== building the fuzz targets of $crate"
  (cd "$crate" && cargo fuzz build "${flags[@]}")
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
for entry in "${targets[@]}"; do
  read -r crate target <<<"$entry"
  corpus="$crate/fuzz/corpus/$target"
  echo "== fuzzing $crate $target for ${seconds}s (seed $seed, $(find "$corpus" -type f | wc -l) corpus inputs)"
  mkdir -p "$scratch/$target"
  if ! (cd "$crate" && cargo fuzz run "${flags[@]}" "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1); then
    status=1
    echo "!! $crate $target failed:" >&2
    grep -E -A30 "panicked|ERROR|SUMMARY" "$scratch/$target.log" | head -60 >&2 || tail -40 "$scratch/$target.log" >&2
    ls "$crate/fuzz/artifacts/$target/" 2>/dev/null | sed "s|^|   input: $crate/fuzz/artifacts/$target/|" >&2 || true
  else
    grep -E "^Done [0-9]+ runs" "$scratch/$target.log" || true
  fi
done
exit "$status"
