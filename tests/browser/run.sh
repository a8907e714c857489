#!/usr/bin/env bash
# Browser end-to-end tests of the uip-sandbox hosted page (/s/{id}) and dashboard (/_sandbox/ui).
#
#   bash tests/browser/run.sh        (from any directory; as root on a fresh Debian machine)
#
# Installs Debian's chromium if /usr/bin/chromium is missing, installs playwright-core (npm ci; it never
# downloads a browser), builds the sandbox (honours CARGO_TARGET_DIR), starts it on a free loopback port,
# runs hosted-page.test.mjs and dashboard.test.mjs with `node --test` (one file at a time), always stops the sandbox, and ends with the line
# `browser: N passed, N failed`. Exit status is non-zero on any failure.
# Screenshots of each screen go to <workspace>/target/browser-screenshots/.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHOTS="$ROOT/target/browser-screenshots"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/uip-browser.XXXXXX")"
SANDBOX_PID=""
SUMMARY=""

log() { printf '== %s\n' "$*"; }

cleanup() {
  local rc=$?
  if [ -n "$SANDBOX_PID" ] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
    kill -TERM "$SANDBOX_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  if [ -z "$SUMMARY" ]; then
    # Failed before the tests could report: still close with a clear pass/fail line.
    [ "$rc" -eq 0 ] && rc=1
    echo "browser: 0 passed, 1 failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "run.sh: $*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- 1. chromium (Debian's; playwright never downloads one) -------------------------------------
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  log "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || fail "apt-get update failed"
  as_root apt-get install -y -qq chromium >/dev/null || fail "apt-get install chromium failed"
  CHROMIUM_PATH=/usr/bin/chromium
fi
[ -x "$CHROMIUM_PATH" ] || fail "no chromium at $CHROMIUM_PATH"

# ---- 2. node and playwright-core ----------------------------------------------------------------
command -v node >/dev/null 2>&1 || fail "node (>= 20) is required"
command -v npm >/dev/null 2>&1 || fail "npm is required"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
  || fail "node >= 20 is required (found $(node --version))"
log "npm ci (playwright-core)"
(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
  || fail "npm ci failed"

# ---- 3. build the sandbox -----------------------------------------------------------------------
log "cargo build -p uip-sandbox"
(cd "$ROOT" && cargo build -q -p uip-sandbox --bin uip-sandbox) || fail "cargo build failed"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/debug/uip-sandbox"
[ -x "$BIN" ] || fail "no sandbox binary at $BIN"

# ---- 4. start it on a free port -----------------------------------------------------------------
log "starting the sandbox"
(
  # Defaults only: no UIP_SANDBOX_* from the caller's environment changes the seeded business.
  for v in $(compgen -e | grep '^UIP_SANDBOX_' || true); do unset "$v"; done
  exec "$BIN" --listen 127.0.0.1:0
) >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL="$(sed -n 's/^UIP_SANDBOX_URL=//p' "$WORK/sandbox.out" | head -n 1)"
  [ -n "$URL" ] && break
  kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$WORK/sandbox.err" >&2; fail "the sandbox exited early"; }
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/sandbox.err" >&2; fail "no UIP_SANDBOX_URL= line within 30 s"; }
log "sandbox at $URL"

# ---- 5. the test --------------------------------------------------------------------------------
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
log "node --test hosted-page.test.mjs dashboard.test.mjs"
START=$(date +%s)
UIP_SANDBOX_URL="$URL" UIP_API_KEY=uip_test_sandbox UIP_SCREENSHOT_DIR="$SHOTS" CHROMIUM_PATH="$CHROMIUM_PATH" \
  timeout 420 node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$WORK/results.tap" \
    "$HERE/hosted-page.test.mjs" "$HERE/dashboard.test.mjs"
RC=$?
END=$(date +%s)
PASS="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$WORK/results.tap" 2>/dev/null | tail -n 1)"
FAILED="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$WORK/results.tap" 2>/dev/null | tail -n 1)"
PASS="${PASS:-0}"
FAILED="${FAILED:-0}"
if [ "$RC" -ne 0 ] && [ "$FAILED" -eq 0 ]; then FAILED=1; fi
if [ "$RC" -ne 0 ]; then
  echo "--- sandbox stderr (last 40 lines) ---" >&2
  tail -n 40 "$WORK/sandbox.err" >&2
fi
echo "screenshots: $SHOTS ($(ls "$SHOTS" | wc -l) files); tests took $((END - START)) s"
SUMMARY="browser: $PASS passed, $FAILED failed"
echo "$SUMMARY"
[ "$RC" -eq 0 ] && [ "$FAILED" -eq 0 ] && [ "$PASS" -gt 0 ]
