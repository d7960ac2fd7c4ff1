#!/usr/bin/env bash
# Isolation under load (loopback only, bounded): tenant A's pre-check p99
# alone, then while tenant B hammers a plugin that always hits its deadline.
# Goal: A's p99 rises less than 2x.
#
#   cargo build --release && examples/load/isolation.sh [seconds]
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-15}
BIN=${TOLLGATE_BIN:-target/release/tollgate}
GUESTS=$(ls -d target/wasm-guests/wasm32-wasip2/release 2>/dev/null || true)
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
[ -f "$GUESTS/infinite_loop.wasm" ] || { echo "build the test plugins first: cargo test --release -p test-plugins --no-run" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
A=$("$BIN" tenant create --name A --data-dir "$WORK")
B=$("$BIN" tenant create --name B --data-dir "$WORK")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
b64() { python3 -c "import base64,sys; print(base64.b64encode(sys.argv[1].encode()).decode())" "$1"; }
B_ID=$(field "$B" tenant_id)
# B's plugin never finishes: unlimited fuel, so every call runs to its 100 ms deadline.
"$BIN" tenant set-limits --tenant "$B_ID" --limits '{"fuel": 1000000000000, "deadline_ms": 100}' --data-dir "$WORK" >/dev/null

PORT=${PORT:-18090}
"$BIN" serve --data-dir "$WORK" --listen "127.0.0.1:$PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

upload_and_bind() { # token hook name wasm config
  curl -sf -H "Authorization: Bearer $1" --data-binary "@$4" "$URL/admin/v1/plugins?name=$3" >/dev/null
  curl -sf -X PUT -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
       -d "{\"plugin\": \"$3\", \"config\": $5}" "$URL/admin/v1/bindings/$2/$3" >/dev/null
}
upload_and_bind "$(field "$A" admin_token)" quantity-limits min-max "$GUESTS/min_max_quantity.wasm" \
  '{"products": {"cb_basic": {"min": 3, "max": 50}}}'
upload_and_bind "$(field "$B" admin_token)" precheck spin "$GUESTS/infinite_loop.wasm" '{}'

python3 - "$WORK/body.json" <<'PY'
import json, sys
body = json.load(open("examples/requests/subscription-create-check.json"))
body["Quantity"] = 5
json.dump(body, open(sys.argv[1], "w"))
PY

run() { # app key seconds connections
  APP_ID=$1 API_KEY_B64=$2 BODY_FILE="$WORK/body.json" \
    wrk -t1 -c"$4" -d"$3"s --latency -s examples/load/precheck.lua "$URL/api/Subscriptions/Create" | grep RESULT
}
A_APP=$(field "$A" application_id); A_KEY=$(b64 "$(field "$A" api_key)")
B_APP=$(field "$B" application_id); B_KEY=$(b64 "$(field "$B" api_key)")

echo "tenant A alone (${SECONDS_PER_RUN}s, 4 connections):"
ALONE=$(run "$A_APP" "$A_KEY" "$SECONDS_PER_RUN" 4); echo "  $ALONE"
echo "tenant A while tenant B hammers a deadline-bound plugin (32 connections):"
run "$B_APP" "$B_KEY" $((SECONDS_PER_RUN + 4)) 32 > "$WORK/b.txt" &
HAMMER=$!
sleep 2
LOADED=$(run "$A_APP" "$A_KEY" "$SECONDS_PER_RUN" 4); echo "  $LOADED"
wait $HAMMER; echo "  tenant B: $(cat "$WORK/b.txt")"
p99() { echo "$1" | sed -E 's/.*p99_us=([0-9]+).*/\1/'; }
python3 -c "import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); print(f'A p99 alone {a} us, under attack {b} us: x{b/a:.2f} (goal < 2)')" "$(p99 "$ALONE")" "$(p99 "$LOADED")"
