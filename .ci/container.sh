#!/usr/bin/env bash
# CI stage: the uip-sandbox container image.
#
# Builds the image with docker/build.sh, runs it, runs the Python (pytest) and Node (node --test)
# example suites against it, restarts it on the same volume (a session created before survives and
# its pending webhook deliveries resume), checks that `docker stop` (SIGTERM) takes under 2 s and
# exits 0, that the server does not run as root, and prints the image size (at most 100 MB).
# Needs root on a Debian machine; installs docker.io, debootstrap, python3-venv, curl and nodejs
# when missing and starts dockerd when no daemon answers (stopping it again at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

image="uip-sandbox:dev"
max_mb=100
run_id="uipci$$"
work="$(mktemp -d)"
containers=()
volume="${run_id}-data"
started_dockerd=""
receiver_pid=""
app_pid=""

cleanup() {
  set +e
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  docker volume rm -f "$volume" >/dev/null 2>&1
  [[ -n "$receiver_pid" ]] && kill "$receiver_pid" 2>/dev/null
  [[ -n "$app_pid" ]] && kill "$app_pid" 2>/dev/null
  if [[ -n "$started_dockerd" ]]; then kill "$started_dockerd" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "== apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd (log: $work/dockerd.log)"
  setsid dockerd >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 20 "$work/dockerd.log"; fail "dockerd did not start"; }
fi

# --- build -------------------------------------------------------------------------------------
echo "== docker/build.sh"
timeout 2700 docker/build.sh
size=$(docker image inspect -f '{{.Size}}' "$image")
size_mb=$(( (size + 999999) / 1000000 ))
echo "image $image: $size bytes (${size_mb} MB uncompressed), base $(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.base.name"}}' "$image")"
(( size_mb <= max_mb )) || fail "the image is over ${max_mb} MB"

# --- helpers -----------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

wait_healthy() { # container: waits for the image's HEALTHCHECK to report healthy
  local status=""
  for _ in $(seq 120); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$1")
    [[ "$status" == healthy ]] && return 0
    sleep 0.5
  done
  docker logs "$1" | tail -n 20
  fail "$1 is $status after 60 s"
}

start_sandbox() { # name port: the image on the shared volume, fast retries
  containers+=("$1")
  docker run -d --name "$1" -p "127.0.0.1:$2:8787" -v "$volume:/data" \
    --add-host host.docker.internal:host-gateway \
    -e "UIP_SANDBOX_PUBLIC_URL=http://127.0.0.1:$2" \
    -e UIP_SANDBOX_RETRY_BASE_MS=200 -e UIP_SANDBOX_RETRY_MAX_MS=1000 \
    "$image" >/dev/null
  wait_healthy "$1"
}

# --- run it ------------------------------------------------------------------------------------
port=$(free_port)
url="http://127.0.0.1:$port"
start_sandbox "${run_id}-a" "$port"
echo "== ${run_id}-a healthy at $url"

pid=$(docker inspect -f '{{.State.Pid}}' "${run_id}-a")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ "$uid" != 0 ]] || fail "the server runs as root"
echo "server process runs as uid $uid ($(docker inspect -f '{{.Config.User}}' "$image"))"

# --- the example suites ------------------------------------------------------------------------
echo "== Python suite (pytest + requests; it starts its own container)"
python3 -m venv "$work/venv"
timeout 300 "$work/venv/bin/pip" install -q -r examples/polyglot/python/requirements.txt
(cd examples/polyglot/python && timeout 300 "$work/venv/bin/python" -m pytest -q -p no:cacheprovider)
echo "== Python suite against the running container (UIP_SANDBOX_URL)"
(cd examples/polyglot/python && UIP_SANDBOX_URL="$url" UIP_WEBHOOK_HOST=host.docker.internal \
  timeout 300 "$work/venv/bin/python" -m pytest -q -p no:cacheprovider)

echo "== Node suite (node --test + fetch; it starts its own container)"
(cd examples/polyglot/node && timeout 300 node --test)
echo "== Node suite against the running container (UIP_SANDBOX_URL)"
(cd examples/polyglot/node && UIP_SANDBOX_URL="$url" UIP_WEBHOOK_HOST=host.docker.internal timeout 300 node --test)

# --- the compose example -----------------------------------------------------------------------
# Its app image (python:3.12-slim) may not be pullable here: validate the file, and run the app on
# this host against the running container instead.
echo "== examples/compose: docker-compose.yml is valid; the app approves an adult's order"
if command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f examples/compose/docker-compose.yml config -q
elif docker compose version >/dev/null 2>&1; then
  docker compose -f examples/compose/docker-compose.yml config -q
fi
app_port=$(free_port)
shop=$(curl -sf -X POST "$url/_sandbox/businesses" -H 'content-type: application/json' \
  -d "{\"webhook_url\":\"http://host.docker.internal:$app_port/uip-webhook\"}")
UIP_API_URL="$url/v1" UIP_API_KEY=$(json 'd["api_key"]' <<<"$shop") \
  UIP_WEBHOOK_SECRET=$(json 'd["webhook_secret"]' <<<"$shop") PORT="$app_port" \
  python3 examples/compose/app.py >"$work/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$app_port/" >/dev/null && break; sleep 0.2; done
checkout=$(curl -sf -X POST "http://127.0.0.1:$app_port/checkout")
order=$(json 'd["order"]' <<<"$checkout")
curl -sf -X POST "$url/_sandbox/sessions/$(json 'd["session_id"]' <<<"$checkout")/simulate" \
  -H "Authorization: Bearer $(json 'd["api_key"]' <<<"$shop")" >/dev/null
for _ in $(seq 150); do
  state=$(curl -sf "http://127.0.0.1:$app_port/orders/$order" | json 'd["state"]')
  [[ "$state" == awaiting_age_check ]] || break
  sleep 0.2
done
kill "$app_pid"
app_pid=""
[[ "$state" == approved ]] || { cat "$work/app.log"; fail "the compose app's order is $state"; }
echo "the app's order $order is $state"

# --- restart on the same volume ----------------------------------------------------------------
echo "== restart: a stored session and its pending deliveries survive"
hook_port=$(free_port) # nothing listens there yet: every attempt fails and is retried
business=$(curl -sf -X POST "$url/_sandbox/businesses" -H 'content-type: application/json' \
  -d "{\"webhook_url\":\"http://host.docker.internal:$hook_port/hook\"}")
key=$(json 'd["api_key"]' <<<"$business")
auth=(-H "Authorization: Bearer $key")
session=$(curl -sf "${auth[@]}" -H 'content-type: application/json' "$url/v1/sessions" \
  -d '{"steps":[{"primitive":"age_verify","params":{"min_age":21}}],"client_reference_id":"before-restart"}')
sid=$(json 'd["id"]' <<<"$session")
[[ $(curl -sf "${auth[@]}" -X POST "$url/_sandbox/sessions/$sid/simulate" | json 'd["status"]') == completed ]] \
  || fail "simulate did not complete $sid"
for _ in $(seq 100); do
  attempts=$(curl -sf "${auth[@]}" "$url/_sandbox/deliveries?session_id=$sid" | json 'len(d["deliveries"][0]["attempts"])')
  [[ "$attempts" -ge 1 ]] && break
  sleep 0.2
done
[[ "$attempts" -ge 1 ]] || fail "no delivery attempt for $sid"
pending=$(curl -sf "${auth[@]}" "$url/_sandbox/deliveries?session_id=$sid" \
  | json '" ".join(e["status"] for e in d["deliveries"])')
echo "before the restart: deliveries of $sid: $pending"
[[ "$pending" != *delivered* ]] || fail "a delivery succeeded with no receiver: $pending"

start=$(date +%s%N)
docker stop "${run_id}-a" >/dev/null
stop_ms=$(( ($(date +%s%N) - start) / 1000000 ))
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "${run_id}-a")
echo "docker stop took ${stop_ms} ms; exit status $exit_code"
(( stop_ms < 2000 )) || fail "docker stop took ${stop_ms} ms (limit 2000)"
[[ "$exit_code" == 0 ]] || fail "the server exited with $exit_code on SIGTERM"
docker rm "${run_id}-a" >/dev/null

start_sandbox "${run_id}-b" "$port" # a new container, the same volume
status=$(curl -sf "${auth[@]}" "$url/v1/sessions/$sid" | json 'd["status"] + " " + d["client_reference_id"]')
[[ "$status" == "completed before-restart" ]] || fail "after the restart $sid reads: $status"
echo "after the restart: $sid is still $status"

cat >"$work/receiver.py" <<'EOF'
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "a") as f:
            f.write(self.headers["X-UIP-Delivery-Id"] + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Hook).serve_forever()
EOF
: >"$work/received"
python3 "$work/receiver.py" "$hook_port" "$work/received" &
receiver_pid=$!
expected=$(printf '%s\n' "$sid:step.completed:0" "$sid:session.completed")
for _ in $(seq 150); do
  [[ "$(cat "$work/received")" == "$expected" ]] && break
  sleep 0.2
done
[[ "$(cat "$work/received")" == "$expected" ]] || fail "after the restart the receiver got: $(cat "$work/received")"
delivered=$(curl -sf "${auth[@]}" "$url/_sandbox/deliveries?session_id=$sid" \
  | json '" ".join(e["status"] for e in d["deliveries"])')
[[ "$delivered" == "delivered delivered" ]] || fail "delivery log after the restart: $delivered"
echo "after the restart: the pending deliveries resumed, in order: $(tr '\n' ' ' <"$work/received")"

echo "container stage passed: image $image ${size_mb} MB, docker stop ${stop_ms} ms, uid $uid"
