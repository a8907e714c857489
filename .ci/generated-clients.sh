#!/usr/bin/env bash
# Clients generated from the sandbox's own /openapi.json are complete in Python and TypeScript.
#
# Builds the uip-sandbox binary, starts it on a free loopback port (in memory), downloads the
# served document, then:
#   1. generates a Python client with openapi-python-client (PyPI) and fails on any warning or
#      dropped schema ("Unable to parse schema …");
#   2. runs tests/generated-clients/flow.py with that client: create, simulate, continue, stop,
#      get, an audit record, a 404 parsed as ApiErrorBody, and every webhook body the sandbox sent
#      parsed with the generated event models (all five documented events);
#   3. generates TypeScript types with openapi-typescript (npm), fails on any warning, and runs
#      `tsc --noEmit --strict` on tests/generated-clients/usage.ts, which uses them.
# Stops the sandbox and exits non-zero when any step failed.
#
# Installs what it needs on a fresh Debian machine as root (python3-venv, nodejs/npm when absent).
# Knobs (environment): CARGO_TARGET_DIR (as cargo's).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# Tool versions: the generators' output is what this stage checks, so pin their major lines.
python_client='openapi-python-client>=0.29,<0.30'
ts_generator='openapi-typescript@7'
typescript='typescript@5'

need_apt=()
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if ((${#need_apt[@]})); then
  echo "== installing ${need_apt[*]} (apt)"
  timeout 600 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

work="$(mktemp -d)"
sandbox_pid=""
cleanup() {
  if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing $python_client, ruff (PyPI) and $ts_generator, $typescript (npm)"
python3 -m venv "$work/venv"
timeout 600 "$work/venv/bin/pip" install --quiet --disable-pip-version-check "$python_client" ruff httpx attrs python-dateutil
mkdir -p "$work/ts"
(cd "$work/ts" && timeout 600 npm install --silent --no-audit --no-fund --no-save "$ts_generator" "$typescript" >/dev/null)
# openapi-python-client formats its output with ruff (a post hook): it must be on PATH.
export PATH="$work/venv/bin:$PATH"

echo "== building uip-sandbox"
cargo build --quiet -p uip-sandbox --bin uip-sandbox
target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/debug/uip-sandbox"

api_key="uip_test_generatedclients$(date +%s)"
"$bin" --listen 127.0.0.1:0 --api-key "$api_key" --expiry-sweep-ms 200 \
  --retry-base-ms 50 --retry-max-ms 500 >"$work/out" 2>"$work/err" &
sandbox_pid=$!

url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^UIP_SANDBOX_URL=//p' "$work/out" 2>/dev/null || true)"
  [[ -n "$url" ]] && break
  if ! kill -0 "$sandbox_pid" 2>/dev/null; then
    echo "uip-sandbox exited before it listened:" >&2
    cat "$work/err" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "uip-sandbox did not print UIP_SANDBOX_URL within 30 s" >&2
  exit 1
fi
curl --silent --fail --max-time 10 "$url/openapi.json" -o "$work/openapi.json"

status=0

echo "== openapi-python-client generate ($url/openapi.json)"
(cd "$work" && timeout 300 openapi-python-client generate --path openapi.json \
  --output-path py/uip_sandbox_client --meta none) >"$work/python.log" 2>&1 || status=$?
cat "$work/python.log"
if ((status != 0)); then
  echo "openapi-python-client failed (exit $status)" >&2
  exit 1
fi
if grep -Eqi 'warning|unable to|could not|removal of|not supported|unsupported' "$work/python.log"; then
  echo "openapi-python-client reported warnings or dropped schemas (above)" >&2
  exit 1
fi

echo "== the generated Python client: a short flow against the sandbox"
PYTHONPATH="$work/py" timeout 300 python3 "$root/tests/generated-clients/flow.py" "$url" "$api_key"

echo "== openapi-typescript"
(cd "$work/ts" && timeout 300 npx --no-install openapi-typescript "$work/openapi.json" -o types.ts) \
  >"$work/ts.log" 2>&1 || status=$?
cat "$work/ts.log"
if ((status != 0)); then
  echo "openapi-typescript failed (exit $status)" >&2
  exit 1
fi
if grep -Eqi 'warn|error|⚠|✘' "$work/ts.log"; then
  echo "openapi-typescript reported warnings (above)" >&2
  exit 1
fi

echo "== tsc --noEmit on tests/generated-clients/usage.ts"
cp "$root/tests/generated-clients/usage.ts" "$work/ts/usage.ts"
(cd "$work/ts" && timeout 300 npx --no-install tsc --noEmit --strict --target es2020 --module es2020 \
  --moduleResolution node usage.ts)

if ! kill -0 "$sandbox_pid" 2>/dev/null; then
  echo "uip-sandbox died during the run:" >&2
  tail -50 "$work/err" >&2
  exit 1
fi
echo "== generated clients: ok"
