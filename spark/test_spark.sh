#!/usr/bin/env bash
# The Spark driver gives the alert documents `ruleq run` gives (sorted, byte
# for byte) and its summary (line for line, but for the time): 50,000
# generated events in 4 time-ordered files with 2 malformed lines, the
# project rules (plus 100 corpus rules when RULEQ_SHARED is set), Spark
# local[2] and the debug binary; default mode (same --now) and --schedule;
# and a run with every file split across several Spark partitions.
#
# PYTHON: a Python with pyspark (default: python3). Prints timings; ends
# with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import pyspark' 2>/dev/null || {
  echo "error: $PYTHON has no pyspark: python3 -m venv V && V/bin/pip install -r spark/requirements.txt, then PYTHON=V/bin/python" >&2
  exit 2
}
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --quiet
cargo build --quiet --example gen-events
RULEQ="$TARGET/debug/ruleq"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/events" "$WORK/rules"
# The corpus profile: events for Elastic's rules (and telnet sessions for the
# project's), in time order.
"$TARGET/debug/examples/gen-events" --profile corpus --events 50000 --seed 1 > "$WORK/all.ndjson"
split -l 12500 -d -a 1 --additional-suffix=.ndjson "$WORK/all.ndjson" "$WORK/events/part"
rm "$WORK/all.ndjson"
# Two malformed lines in part1, in its second half (a later map split).
sed -i -e '9000s/^/{"bad\n/' -e '11000s/^/not json\n/' "$WORK/events/part1.ndjson"
ls "$WORK/events" | tr '\n' ' '; echo

# The project rules; 100 corpus rules of the types the stages distribute,
# spread over the corpus (every k-th in path order).
RULES=(-r rules)
if [ -n "${RULEQ_SHARED:-}" ] && [ -d "$RULEQ_SHARED/corpus/detection-rules/rules" ]; then
  find "$RULEQ_SHARED/corpus/detection-rules/rules" -name '*.toml' | LC_ALL=C sort \
    | while IFS= read -r f; do
        if grep -qE '^type = "(query|eql|threshold|new_terms)"' "$f"; then echo "$f"; fi
      done > "$WORK/eligible"
  step=$(( $(wc -l < "$WORK/eligible") / 100 ))
  n=0
  while IFS= read -r f; do
    n=$((n + 1))
    ln -s "$f" "$WORK/rules/$(printf '%03d' "$n")-$(basename "$f")"
  done < <(awk -v k="$step" 'NR % k == 0' "$WORK/eligible" | head -100)
  RULES+=(-r "$WORK/rules")
  echo "corpus rules: $n (every ${step}th of $(wc -l < "$WORK/eligible"))"
else
  echo "no RULEQ_SHARED: the project rules only"
fi
COMMON=("${RULES[@]}" --indicators examples/telnet-indicators.ndjson)

passed=0
failed=0
now() { date +%s.%N; }
case_() { # name, extra driver options, then -- and the mode's options
  local name="$1"; shift
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  local t0 t1 t2
  t0=$(now)
  "$RULEQ" run "${COMMON[@]}" "$@" --format ndjson "$WORK/events" 2> "$WORK/direct.err" \
    | LC_ALL=C sort > "$WORK/direct"
  t1=$(now)
  rm -rf "$WORK/out"
  "$PYTHON" spark/ruleq_spark.py --master 'local[2]' --ruleq "$RULEQ" "${COMMON[@]}" "$@" \
    "${extra[@]}" --output "$WORK/out" "$WORK/events" 2> "$WORK/spark.err" || {
    cat "$WORK/spark.err" >&2
    echo "FAIL $name: the driver failed"; failed=$((failed + 1)); return; }
  t2=$(now)
  grep -E 'events read|splits' "$WORK/spark.err" | sed 's/^/  /'
  # The same summary, but for its time and the Spark line; malformed
  # events named by the file's name (as in alert ids), not its path.
  local timeless='s/ in [0-9.]* s ([0-9]* events\/s)//'
  sed -e "$timeless" -e "s#^$WORK/events/##" "$WORK/direct.err" > "$WORK/direct.sum"
  grep -vE '^(spark: |[0-9]{2}/[0-9]{2}/[0-9]{2} [0-9:]{8} (WARN|INFO) |Setting default log level|To adjust logging level)' \
    "$WORK/spark.err" | sed -e "$timeless" > "$WORK/spark.sum"
  LC_ALL=C sort "$WORK"/out/part-* > "$WORK/spark"
  local stray
  stray=$(cd "$WORK/out" && ls -A | grep -vE '^(part-[0-9]+|_SUCCESS)$' || true)
  if [ -n "$stray" ]; then
    echo "FAIL $name: --output holds more than part files and _SUCCESS: $stray"; failed=$((failed + 1))
  elif ! cmp -s "$WORK/direct.sum" "$WORK/spark.sum"; then
    echo "FAIL $name: the driver's summary is not ruleq run's"
    diff "$WORK/direct.sum" "$WORK/spark.sum" | head -c 3000 || true
    failed=$((failed + 1))
  elif cmp -s "$WORK/direct" "$WORK/spark"; then
    printf 'ok   %s: %s alert documents; ruleq run %.1f s, Spark local[2] %.1f s\n' \
      "$name" "$(wc -l < "$WORK/direct")" "$(awk "BEGIN{print $t1 - $t0}")" "$(awk "BEGIN{print $t2 - $t1}")"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $(wc -l < "$WORK/direct") documents from ruleq run, $(wc -l < "$WORK/spark") from Spark"
    diff "$WORK/direct" "$WORK/spark" | head -c 3000 || true
    failed=$((failed + 1))
  fi
}

NOW=2026-03-02T00:00:00Z
case_ "default mode" -- --now "$NOW"
case_ "--schedule" -- --schedule
case_ "files split across partitions" --max-partition-bytes 4000000 -- --now "$NOW"
case_ "--schedule, files split across partitions" --max-partition-bytes 4000000 -- --schedule

echo "spark: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
