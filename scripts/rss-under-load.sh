#!/usr/bin/env bash
# Resident memory of `harness up` over time under a sustained `harness load` (issue 13, item 4;
# BENCHMARKS.md "Memory under sustained load"). Prints one line per sample: seconds, the `up`
# process's RSS, the table's ItemCount and TableSizeBytes (DynamoDB's own measure), and RSS per
# stored item; then samples on for a while after the load stops (memory must not grow idle).
# Usage: scripts/rss-under-load.sh [RATE] [SECONDS] [HARNESS_BINARY]
set -euo pipefail
rate=${1:-2000}
seconds=${2:-600}
bin=${3:-target/release/harness}
every=${EVERY:-30}
log=$(mktemp -d)
"$bin" up >"$log/up.log" 2>&1 &
up=$!
trap 'kill -INT $up 2>/dev/null || true; wait $up 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:4566/_emulator/health >/dev/null && break
  sleep 0.2
done
ddb() {
  curl -s http://127.0.0.1:4566/ -H "X-Amz-Target: DynamoDB_20120810.$1" \
    -H 'Content-Type: application/x-amz-json-1.0' -d "$2"
}
table() {
  # The template leaves the table's name to the stack (its one table).
  local name
  name=$(ddb ListTables '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["TableNames"][0])')
  ddb DescribeTable "{\"TableName\":\"$name\"}" |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["Table"]; print(t["ItemCount"], t["TableSizeBytes"])'
}
sample() {
  local rss items bytes
  rss=$(($(ps -o rss= -p "$up") * 1024))
  read -r items bytes < <(table)
  echo "t=$1s rss=$rss items=$items table_bytes=$bytes rss_per_item=$((items > 0 ? rss / items : 0))"
}
started=$(date +%s)
sample 0
"$bin" load --rate "$rate" --events $((rate * seconds)) >"$log/load.log" 2>&1 &
load=$!
while kill -0 $load 2>/dev/null; do
  sleep "$every"
  sample $(($(date +%s) - started))
done
wait $load || { echo "harness load failed:"; cat "$log/load.log"; exit 1; }
tail -5 "$log/load.log"
for _ in 1 2 3 4; do
  sleep "$every"
  sample $(($(date +%s) - started))
done
