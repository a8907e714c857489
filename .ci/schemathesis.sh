#!/usr/bin/env bash
# Schema-driven API fuzzing: schemathesis against the sandbox's own /openapi.json.
#
# Builds the uip-sandbox binary, starts it on a free loopback port (in memory), runs a bounded
# schemathesis run (examples, coverage, fuzzing and stateful phases; a time budget), stops the
# sandbox, and exits non-zero when any check failed. Every check is on (the config written below): a 5xx; a
# status code, content type, header or body that the document does not describe; a network error
# (a hang or a dropped connection); a schema-violating request accepted (negative_data_rejection)
# or a schema-valid one refused (positive_data_acceptance); a keyed operation answering without
# its key (ignored_auth); a missing required header or an unsupported method not refused; a
# deleted resource still answering (use_after_free) or a created one not answering
# (ensure_resource_availability); an Allow header that lies; another business's object reachable.
#
# Knobs (environment): SCHEMATHESIS_MAX_TIME (seconds, default 60), SCHEMATHESIS_MAX_EXAMPLES
# (per operation, default 20), SCHEMATHESIS_SEED (default 1), SCHEMATHESIS_EXCLUDE_CHECKS
# (comma-separated checks to leave out, default none), CARGO_TARGET_DIR (as cargo's).
set -euo pipefail
cd "$(dirname "$0")/.."

max_time="${SCHEMATHESIS_MAX_TIME:-60}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-20}"
seed="${SCHEMATHESIS_SEED:-1}"
exclude_checks="${SCHEMATHESIS_EXCLUDE_CHECKS:-}"

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "== installing schemathesis (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
st=(schemathesis)
if ! command -v schemathesis >/dev/null 2>&1; then
  st=(python3 -m schemathesis.cli)
fi

echo "== building uip-sandbox"
cargo build --quiet -p uip-sandbox --bin uip-sandbox
target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/debug/uip-sandbox"

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

# A fresh business key so the run does not depend on the default credentials; the default
# business's webhook goes to the built-in inbox, so every delivery stays on this machine.
api_key="uip_test_schemathesis$(date +%s)"
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
echo "== schemathesis against $url/openapi.json (max ${max_time}s, ${max_examples} examples per operation, seed $seed)"

# /_sandbox/faults is left out on purpose: it makes the next business-API requests answer
# 500/503/429 or drop the connection, which is its documented job but reads as a failure here.
status=0
exclude=()
if [[ -n "$exclude_checks" ]]; then
  echo "== leaving out checks: $exclude_checks"
  exclude=(--exclude-checks "$exclude_checks")
fi
# Three operations are left out of one check each, positive_data_acceptance (a schema-valid request
# must not be refused), because their 400 comes from a rule the schema does not state; each 400 is
# documented in the operation's description:
# - inboxReceive: a delivery must name a session this sandbox created (data.session_id); generated
#   data never does, so every schema-valid delivery is refused with 400 request/invalid-payload.
# - createSession: a multipart `sign` step must name uploaded `document` parts (and every part must
#   be named by a sign step), a JSON create may not have a `sign` step: cross-field and cross-part
#   rules answered with 400 request/invalid-params.
# - listRequests: `since` must be a journal id (`req_<digits>`), else 400 request/invalid-field. A
#   `pattern` on that query parameter would state it, but schemathesis 4's coverage phase crashes
#   walking it (a Runtime Error inside hypothesis, seen on every run), so the schema says it in words.
# Every other check, negative_data_rejection included, still runs on all three.
# createSession also refuses more `document` parts than the schema's maxItems with 413
# request/too-large (the document and size limits answer 413, docs/DECISIONS.md §9), a rejection
# negative_data_rejection does not count by default, so 413 is added to its rejections there.
# Every check is switched on here rather than with `--checks all`: a check named on the command
# line would override these per-operation settings.
cat >"$work/schemathesis.toml" <<'TOML'
checks.enabled = true

[[operations]]
include-operation-id = ["inboxReceive", "createSession", "listRequests"]
checks.positive_data_acceptance.enabled = false

[[operations]]
include-operation-id = "createSession"
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5XX"]
TOML
# From the scratch folder: schemathesis keeps a cache (.schemathesis/) in its working directory.
(cd "$work" && "${st[@]}" --no-color --config-file "$work/schemathesis.toml" run "$url/openapi.json" \
  --header "Authorization: Bearer $api_key" \
  "${exclude[@]}" \
  --exclude-path /_sandbox/faults \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$max_examples" \
  --max-time "$max_time" \
  --seed "$seed" \
  --workers 2 \
  --request-timeout 10) || status=$?

if ! kill -0 "$sandbox_pid" 2>/dev/null; then
  echo "uip-sandbox died during the run:" >&2
  tail -50 "$work/err" >&2
  exit 1
fi
if curl --silent --fail --max-time 5 "$url/healthz" >/dev/null 2>&1; then
  echo "== sandbox still healthy after the run"
else
  echo "uip-sandbox no longer answers /healthz after the run" >&2
  status=1
fi
exit "$status"
