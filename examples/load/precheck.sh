#!/usr/bin/env bash
# Pre-check throughput, plugin-bound vs unbound (issue 14).
#
# Starts the release binary on a fresh SQLite data dir (or DATABASE), creates
# tenant "bound" with the min/max example plugin bound (quantity-limits,
# min 3 / max 50) and tenant "unbound" without bindings, then drives
# check-mode Subscriptions/Create calls (quantity 5: both answer Code 0) at
# each with wrk, alternating, ROUNDS times. Prints each run's throughput,
# p50/p99 and the server's CPU per call (from /proc), then the medians, the
# bound/unbound throughput ratio, the bound call's extra CPU and the server's
# peak RSS.
#
#   cargo build --release && examples/load/precheck.sh
#
# Environment:
#   DURATION=10      seconds per run          CONNECTIONS=8   wrk connections
#   ROUNDS=3         bound+unbound pairs      WRK_THREADS=1
#   SERVER_CPUS=0    pin the server (taskset list, e.g. "0"; default: unpinned)
#   WRK_CPUS=1       pin wrk                  PORT=18091
#   DATABASE=postgres://…  instead of SQLite  RUST_LOG (server's filter, default info)
#   TOLLGATE_BIN=target/release/tollgate      PLUGIN=…/min_max_quantity.wasm
#
# Measure on an otherwise idle machine: the script prints the load average
# before and after (figures taken with a 1-minute load above ~0.7 are noisy).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-8}
ROUNDS=${ROUNDS:-3}
WRK_THREADS=${WRK_THREADS:-1}
PORT=${PORT:-18091}
BIN=${TOLLGATE_BIN:-target/release/tollgate}
PLUGIN=${PLUGIN:-target/wasm-guests/wasm32-wasip2/release/min_max_quantity.wasm}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$PLUGIN" ] || { echo "no $PLUGIN: cargo build --release builds the example plugins" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null \
    || { DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null; }
fi

# Only used in subshells (background, command substitution): it becomes the
# command, so $! is the server's own pid.
pin() { # cpus command...
  local cpus=$1; shift
  if [ -n "$cpus" ]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

WORK=$(mktemp -d)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
STORE=(--data-dir "$WORK")
[ -n "${DATABASE:-}" ] && STORE+=(--database "$DATABASE")
BOUND=$("$BIN" tenant create --name bound "${STORE[@]}")
UNBOUND=$("$BIN" tenant create --name unbound "${STORE[@]}")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
b64() { python3 -c "import base64,sys; print(base64.b64encode(sys.argv[1].encode()).decode())" "$1"; }

(RUST_LOG=${RUST_LOG:-info} pin "${SERVER_CPUS:-}" "$BIN" serve "${STORE[@]}" \
  --listen "127.0.0.1:$PORT" > "$WORK/server.log" 2>&1) &
SERVER=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done

TOKEN=$(field "$BOUND" admin_token)
curl -sf -H "Authorization: Bearer $TOKEN" --data-binary "@$PLUGIN" \
  "$URL/admin/v1/plugins?name=min-max" >/dev/null
curl -sf -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"plugin": "min-max", "config": {"products": {"cb_basic": {"min": 3, "max": 50}}}}' \
  "$URL/admin/v1/bindings/quantity-limits/min-max" >/dev/null

python3 - "$WORK/body.json" <<'PY'
import json, sys
body = json.load(open("examples/requests/subscription-create-check.json"))
body["Quantity"] = 5
json.dump(body, open(sys.argv[1], "w"))
PY

# Both tenants answer Code 0 to this call; the bound one ran the plugin.
check_answer() { # tenant-json
  curl -sf -H "X-CloudPlatform-ApplicationId: $(field "$1" application_id)" \
    -H "X-CloudPlatform-APIKey: $(b64 "$(field "$1" api_key)")" \
    -H 'Content-Type: application/json' --data-binary "@$WORK/body.json" \
    "$URL/api/Subscriptions/Create"
}
for t in "$BOUND" "$UNBOUND"; do
  answer=$(check_answer "$t")
  echo "$answer" | grep -q '"Code":0' || { echo "unexpected answer: $answer" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
TICK=$(getconf CLK_TCK)

run() { # tenant-json seconds → "rps p50_us p99_us cpu_us_per_call"
  local before after out
  before=$(cpu_ticks)
  out=$(APP_ID=$(field "$1" application_id) API_KEY_B64=$(b64 "$(field "$1" api_key)") \
    BODY_FILE="$WORK/body.json" pin "${WRK_CPUS:-}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" \
    -d"$2"s --latency -s examples/load/precheck.lua "$URL/api/Subscriptions/Create" | grep RESULT)
  after=$(cpu_ticks)
  python3 - "$out" "$before" "$after" "$TICK" <<'PY'
import re, sys
out, before, after, tick = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
f = dict(re.findall(r"(\w+)=([\d.]+)", out))
n = int(f["requests"])
if int(f["non2xx"]) or int(f["errors"]):
    sys.exit(f"errors during the run: {out}")
cpu_us = (after - before) / tick * 1e6 / max(n, 1)
print(f'{float(f["rps"]):.0f} {f["p50_us"]} {f["p99_us"]} {cpu_us:.0f}')
PY
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; server cpus: ${SERVER_CPUS:-all}; wrk cpus: ${WRK_CPUS:-all}"
echo "warm-up…"
run "$BOUND" 2 >/dev/null
run "$UNBOUND" 2 >/dev/null
printf '%-8s %-8s %10s %8s %8s %12s\n' round tenant req/s p50_us p99_us cpu_us/call
: > "$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  for name in bound unbound; do
    if [ "$name" = bound ]; then t=$BOUND; else t=$UNBOUND; fi
    read -r rps p50 p99 cpu < <(run "$t" "$DURATION")
    printf '%-8s %-8s %10s %8s %8s %12s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu"
    echo "$name $rps $p50 $p99 $cpu" >> "$WORK/results"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The allocator's and the instance pool's price in memory: the server's peak
# resident set over the whole run.
echo "server peak RSS: $(awk '/^VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER/status")"
python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
col = lambda name, i: [float(r[i]) for r in rows if r[0] == name]
med = {n: [statistics.median(col(n, i)) for i in range(1, 5)] for n in ("bound", "unbound")}
for n in ("bound", "unbound"):
    rps, p50, p99, cpu = med[n]
    lo, hi = min(col(n, 1)), max(col(n, 1))
    print(f"{n:8} median {rps:8.0f} req/s (runs {lo:.0f}–{hi:.0f})  p50 {p50:.0f} us  p99 {p99:.0f} us  cpu {cpu:.0f} us/call")
ratios = [b / u for b, u in zip(col("bound", 1), col("unbound", 1))]
print(f"bound/unbound throughput: {med['bound'][0] / med['unbound'][0]:.2f} (per round: {', '.join(f'{r:.2f}' for r in ratios)})")
# The plugin's price in absolute terms: what a bound call costs the server
# beyond an unbound one (the ratio moves with everything both calls share).
print(f"bound - unbound server CPU per call: {med['bound'][3] - med['unbound'][3]:.0f} us")
PY
