#!/usr/bin/env bash
# Runs every unit test (plain, then under ASan/UBSan) and every integration
# test, and prints one total line "N passed, N failed" at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0; fail=0
tally() { # parses "...: N passed, M failed" from a log
  local line; line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -z "$line" ]; then fail=$((fail+1)); echo "FAIL $2 (no summary line)"; return; fi
  pass=$((pass + $(echo "$line" | cut -d' ' -f1)))
  fail=$((fail + $(echo "$line" | cut -d' ' -f3)))
}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in $(find "$BUILD/test" "$BUILD/asan/test" -type f -name '*_test' 2>/dev/null | sort); do
  log=$(mktemp)
  if ! "$t" >"$log" 2>&1; then cat "$log"; echo "FAIL $t"; fi
  tally "$log" "$t"; grep -E 'passed, [0-9]+ failed' "$log" | sed "s|^|$t: |"
  rm -f "$log"
done
for r in $(find "$BUILD/asan/fuzz" -type f -name 'fuzz_*' 2>/dev/null | sort); do
  name=$(basename "$r"); corpus=fuzz/corpus/${name#fuzz_}
  [ -d "$corpus" ] || continue
  seeds=(); [ "$name" = fuzz_openrtb ] && seeds=(tests/fixtures/openrtb)  # the IAB examples seed it too
  log=$(mktemp)
  if ! "$r" "$corpus" "${seeds[@]}" >"$log" 2>&1; then cat "$log"; echo "FAIL $r"; fi
  tally "$log" "$r"; grep -E 'passed, [0-9]+ failed' "$log" | sed "s|^|$r: |"
  rm -f "$log"
done
log=$(mktemp)
BUILD=$BUILD python3 tests/run.py tests 2>&1 | tee "$log"
tally "$log" integration
rm -f "$log"
# The quick recovery subset: one SIGKILL per component (the six daemons and
# the dev Kafka broker) under load, ~3 min (`make recovery` runs every
# scenario, ~40 min: freezes, broker faults, database crash, power cut,
# swaps, and the long outages with budgets that run out during them).
log=$(mktemp)
BEAT_RECOVERY_IN_TIME_MIN=${BEAT_RECOVERY_IN_TIME_MIN:-99.0} \
  BEAT_RECOVERY_REPORT=${BEAT_RECOVERY_REPORT:-$(mktemp -d)/report.md} \
  BUILD=$BUILD python3 tests/run.py recovery-tests kill- 2>&1 | tee "$log"
tally "$log" recovery
rm -f "$log"
echo "total: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
