#!/bin/bash
# Crash test: kill -9 `bonsai serve` while a job trains, restart it on the same data directory, and
# check that the job finishes with the same result and mask digest as an uninterrupted run.
# Usage: scripts/crash-test.sh [path/to/bonsai]   (default .build/debug/bonsai)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/bonsai}
TOKEN=bns_crash_test_admin_token_0001
WORK=$(mktemp -d)
SPEC=$WORK/spec.json
cat > "$SPEC" <<'JSON'
{"model": {"architecture": "lenet300", "options": {"hidden": [32]}}, "dataset": {"name": "digits"},
 "method": {"name": "magnitude", "sparsity": 0.8},
 "train": {"steps": 600, "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "checkpoint_every": 25},
 "finetune": {"steps": 100}, "seed": 7}
JSON
cat > "$WORK/config.json" <<JSON
{"admin_token": "$TOKEN", "workers": {"lease_seconds": 3, "heartbeat_seconds": 1, "metrics_flush_steps": 5}}
JSON
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # data-dir log -> sets URL, PID
  "$BIN" serve --port 0 --data-dir "$1" --config "$WORK/config.json" > "$2" 2>&1 &
  PID=$!; PIDS+=("$PID")
  for _ in $(seq 1 100); do
    URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$2" | head -1 || true)
    [ -n "$URL" ] && return 0; sleep 0.1
  done
  echo "server did not start"; cat "$2"; exit 1
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
wait_done() { # url id
  for _ in $(seq 1 1200); do
    S=$(curl -s -H "Authorization: Bearer $TOKEN" "$1/v1/jobs/$2" | field '["status"]')
    case $S in succeeded|failed|cancelled) echo "$S"; return 0;; esac
    sleep 0.25
  done
  echo timeout
}
digest() { curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$1/v1/jobs/$2/${3:-masks}" | grep -i '^x-content-sha256' | tr -d '\r' | cut -d' ' -f2; }

# Uninterrupted run.
start "$WORK/a" "$WORK/a.log"
ID=$(curl -s -H "Authorization: Bearer $TOKEN" -d @"$SPEC" "$URL/v1/jobs" | field '["id"]')
echo "uninterrupted: $(wait_done "$URL" "$ID")"
RESULT_A=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/jobs/$ID" | field '["result"]')
MASKS_A=$(digest "$URL" "$ID")
WEIGHTS_A=$(digest "$URL" "$ID" weights)
kill "$PID"; wait "$PID" 2>/dev/null || true

# Interrupted run: kill -9 mid-training, restart, finish.
start "$WORK/b" "$WORK/b.log"
ID=$(curl -s -H "Authorization: Bearer $TOKEN" -d @"$SPEC" "$URL/v1/jobs" | field '["id"]')
for _ in $(seq 1 600); do
  STEP=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/jobs/$ID" | field '["progress"]["completed_steps"]')
  [ "$STEP" -ge 200 ] && break; sleep 0.05
done
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
echo "killed -9 at completed_steps=$STEP"
start "$WORK/b" "$WORK/b2.log"
echo "after restart: $(wait_done "$URL" "$ID")"
JOB=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/jobs/$ID")
RESULT_B=$(echo "$JOB" | field '["result"]')
echo "attempts: $(echo "$JOB" | field '["attempts"]')"
MASKS_B=$(digest "$URL" "$ID")
WEIGHTS_B=$(digest "$URL" "$ID" weights)
LOSSES=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/jobs/$ID/metrics?key=loss" | field '["metrics"]' | python3 -c "import sys,ast; m=ast.literal_eval(sys.stdin.read()); s=[x['step'] for x in m]; print(len(s), len(set(s)), min(s), max(s))")
echo "loss rows (count, distinct steps, min, max): $LOSSES"
echo "result A: $RESULT_A"
echo "result B: $RESULT_B"
echo "masks A: $MASKS_A"
echo "masks B: $MASKS_B"
echo "weights A: $WEIGHTS_A"
echo "weights B: $WEIGHTS_B"
if [ "$RESULT_A" == "$RESULT_B" ] && [ "$MASKS_A" == "$MASKS_B" ] && [ "$WEIGHTS_A" == "$WEIGHTS_B" ]; then echo "CRASH TEST PASSED"; else echo "CRASH TEST FAILED"; exit 1; fi
