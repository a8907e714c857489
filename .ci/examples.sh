#!/usr/bin/env bash
# The examples and the benchmark harness, run (CI only compiles them otherwise):
#
# 1. starts the uip-sandbox binary on a free loopback port (in memory);
# 2. webhook_receiver: starts it on a free port, points the default business's webhook URL at it,
#    runs a session, and checks that the sandbox's delivery log shows both events delivered
#    (the example answered 2xx to the signed deliveries), then stops it;
# 3. quickstart, gated_onboarding, sign_contract: runs each against the sandbox; each must exit 0;
# 4. uip-bench --quick (release build, as documented): must exit 0 and write target/uip-bench.json
#    with one row per scenario. Its numbers are not asserted (shared CI machines).
#
# Knobs (environment): EXAMPLE_TIMEOUT (seconds per example, default 120), BENCH_TIMEOUT (seconds,
# default 900), SKIP_BENCH=1 (examples only), CARGO_TARGET_DIR (as cargo's).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

example_timeout="${EXAMPLE_TIMEOUT:-120}"
bench_timeout="${BENCH_TIMEOUT:-900}"
target_dir="${CARGO_TARGET_DIR:-target}"

for tool in cargo curl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [[ "$tool" != cargo ]] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
    else
      echo "$tool is required" >&2
      exit 1
    fi
  fi
done

echo "== building uip-sandbox and the examples"
cargo build --quiet -p uip-sandbox --bin uip-sandbox
cargo build --quiet -p uip-examples --examples
bin="$target_dir/debug/uip-sandbox"
examples="$target_dir/debug/examples"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Waits until file $1 has a line starting with $2 and prints the rest of that line; $3 is the pid
# that writes it, $4 its stderr file.
wait_line() {
  local file=$1 prefix=$2 pid=$3 err=$4 line=""
  for _ in $(seq 1 600); do
    line="$(sed -n "s|^$prefix||p" "$file" 2>/dev/null | head -1 || true)"
    if [[ -n "$line" ]]; then
      echo "$line"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before printing '$prefix':" >&2
      cat "$err" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "no line '$prefix' within 60 s" >&2
  return 1
}

api_key="uip_test_examples$(date +%s)"
secret="uip_whsec_examples$(date +%s)0123456789"
"$bin" --listen 127.0.0.1:0 --api-key "$api_key" --webhook-secret "$secret" \
  --retry-base-ms 100 --retry-max-ms 1000 >"$work/sandbox.out" 2>"$work/sandbox.err" &
pids+=($!)
url="$(wait_line "$work/sandbox.out" "UIP_SANDBOX_URL=" "${pids[-1]}" "$work/sandbox.err")"
echo "== sandbox at $url"
export UIP_SANDBOX_URL="$url" UIP_API_KEY="$api_key"
auth=(-H "Authorization: Bearer $api_key" -H "Content-Type: application/json")

echo "== example webhook_receiver"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
UIP_WEBHOOK_SECRET="$secret" PORT="$port" "$examples/webhook_receiver" >"$work/receiver.out" 2>"$work/receiver.err" &
pids+=($!)
receiver_pid=${pids[-1]}
wait_line "$work/receiver.out" "listening on " "$receiver_pid" "$work/receiver.err" >/dev/null
curl --silent --show-error --fail --max-time 10 -X PATCH "${auth[@]}" "$url/_sandbox/business" \
  -d "{\"webhook_url\": \"http://127.0.0.1:$port/uip-webhook\"}" >/dev/null
id="$(curl --silent --show-error --fail --max-time 10 -X POST "${auth[@]}" "$url/v1/sessions" \
  -d '{"steps": [{"primitive": "age_verify", "params": {"min_age": 18}}]}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
curl --silent --show-error --fail --max-time 10 -X POST "${auth[@]}" "$url/_sandbox/sessions/$id/simulate" -d '{}' >/dev/null
delivered=""
for _ in $(seq 1 300); do
  delivered="$(curl --silent --fail --max-time 10 "${auth[@]}" "$url/_sandbox/deliveries?session_id=$id" |
    python3 -c 'import json, sys; d = json.load(sys.stdin)["deliveries"]; print(sum(x["status"] == "delivered" for x in d))')"
  [[ "$delivered" == 2 ]] && break
  sleep 0.1
done
if [[ "$delivered" != 2 ]]; then
  echo "webhook_receiver: $delivered of 2 deliveries were accepted; its output:" >&2
  cat "$work/receiver.out" "$work/receiver.err" >&2
  exit 1
fi
kill "$receiver_pid"
wait "$receiver_pid" 2>/dev/null || true
grep -q "session.completed" "$work/receiver.out" || {
  echo "webhook_receiver did not print the session.completed event:" >&2
  cat "$work/receiver.out" >&2
  exit 1
}
echo "webhook_receiver: both deliveries verified and accepted"

for example in quickstart gated_onboarding sign_contract; do
  echo "== example $example"
  if ! timeout --kill-after=10 "$example_timeout" "$examples/$example" >"$work/$example.out" 2>&1; then
    echo "$example failed:" >&2
    cat "$work/$example.out" >&2
    exit 1
  fi
  tail -3 "$work/$example.out"
done

if [[ "${SKIP_BENCH:-}" == 1 ]]; then
  echo "== uip-bench skipped (SKIP_BENCH=1)"
  exit 0
fi
echo "== uip-bench --quick"
json="target/uip-bench.json"  # the workspace root's target/, whatever CARGO_TARGET_DIR is
rm -f "$json"
cargo build --quiet --release -p uip-bench
timeout --kill-after=30 "$bench_timeout" "$target_dir/release/uip-bench" --quick
python3 - "$json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    report = json.load(f)
rows = report.get("scenarios") if isinstance(report, dict) else None
if not rows:
    sys.exit(f"{path} has no rows: {str(report)[:500]}")
print(f"{path}: {len(rows)} rows")
PY
