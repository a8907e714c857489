#!/usr/bin/env bash
# A webhook receiver written in another language passes `uip-sandbox check-receiver`, and
# `uip-sandbox trigger` delivers every event type to it (docs/DECISIONS.md §11, "Receiver tools").
#
# Builds the uip-sandbox binary, starts examples/receivers/python/receiver.py (standard library
# only, written from docs/UIP-API.md §6) on a free loopback port, runs check-receiver against it
# (every case must pass), then triggers every event type (and every primitive of step.completed),
# which must be answered 2xx and handled, and the signature faults, which must be refused.
# Knobs (environment): CARGO_TARGET_DIR (as cargo's).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
  echo "== installing python3"
  apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi

echo "== building uip-sandbox"
timeout 1800 cargo build --quiet -p uip-sandbox --bin uip-sandbox
bin="${CARGO_TARGET_DIR:-target}/debug/uip-sandbox"

work="$(mktemp -d)"
receiver_pid=""
cleanup() {
  if [[ -n "$receiver_pid" ]] && kill -0 "$receiver_pid" 2>/dev/null; then
    kill "$receiver_pid" 2>/dev/null || true
    wait "$receiver_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

UIP_WEBHOOK_SECRET=uip_whsec_sandbox python3 -u examples/receivers/python/receiver.py --port 0 \
  >"$work/out" 2>"$work/log" &
receiver_pid=$!

url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*/uip-webhook' "$work/out" | head -n 1 || true)"
  [[ -n "$url" ]] && break
  if ! kill -0 "$receiver_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "the Python receiver did not start" >&2
  cat "$work/out" "$work/log" >&2
  exit 1
fi
echo "== Python receiver on $url"

echo "== uip-sandbox check-receiver"
timeout 120 "$bin" check-receiver "$url"

echo "== uip-sandbox trigger, every event type"
for event in step.completed session.completed session.stopped session.failed session.expired; do
  timeout 30 "$bin" trigger "$event" --to "$url" --session-id "sess_ci_${event//./_}" >"$work/trigger"
  grep -q "answered 200 OK" "$work/trigger"
  grep -q "handled $event: session sess_ci_${event//./_}" "$work/log" || {
    echo "the receiver did not handle $event" >&2
    cat "$work/log" >&2
    exit 1
  }
  echo "$event: delivered and handled"
done
for primitive in identify age_verify light_sign sign; do
  timeout 30 "$bin" trigger step.completed --to "$url" --primitive "$primitive" >"$work/trigger"
  grep -q "answered 200 OK" "$work/trigger"
  echo "step.completed ($primitive): delivered"
done

echo "== uip-sandbox trigger, faults the receiver must refuse"
for fault in stale_timestamp bad_signature; do
  status=0
  timeout 30 "$bin" trigger session.completed --to "$url" --fault "$fault" >"$work/trigger" || status=$?
  if [[ "$status" != 1 ]]; then
    echo "trigger --fault $fault: exit $status, expected 1 (refused)" >&2
    cat "$work/trigger" >&2
    exit 1
  fi
  echo "$fault: refused"
done
timeout 30 "$bin" trigger session.completed --to "$url" --fault duplicate >"$work/trigger"
[[ "$(grep -c "answered 200 OK" "$work/trigger")" == 2 ]]
echo "duplicate: both acknowledged"

echo "receiver check passed"
