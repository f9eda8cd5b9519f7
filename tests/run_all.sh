#!/usr/bin/env bash
# Runs every unit test (plain and under ASan/UBSan), the fuzz corpus replays,
# every integration test and the quick recovery subset, and prints one total
# line "N passed, N failed" at the end (with each phase's wall time).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
# Independent tests run this many at a time; BEAT_TEST_JOBS=1 runs all serially.
JOBS=${BEAT_TEST_JOBS:-$(nproc)}
pass=0; fail=0
tally() { # parses "...: N passed, M failed" from a log
  local line; line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -z "$line" ]; then fail=$((fail+1)); echo "FAIL $2 (no summary line)"; return; fi
  pass=$((pass + $(echo "$line" | cut -d' ' -f1)))
  fail=$((fail + $(echo "$line" | cut -d' ' -f3)))
}
phases=()
phase_t0=0
phase_start() { phase_t0=$(date +%s); }
phase_end() { phases+=("$1 $(($(date +%s) - phase_t0))s"); echo "phase $1: $(($(date +%s) - phase_t0))s"; }

# Unit tests that wait on real clocks (mock or dev Kafka brokers, group
# rebalances) with bounds a contended core can break: they run after the
# pool, one at a time, with nothing else running.
#  beat_kconsumer_test: eager_rebalance_no_dupes bounds the duplicates a
#    rebalance lets through; under ASan with 3 tests at a time it went over.
#  beat_kafka_test: librdkafka mock cluster, delivery and unreachable timers.
#  cluster_test: the dev broker cluster, elections and sessions on timers.
SERIAL_UNIT="beat_kconsumer_test beat_kafka_test cluster_test"
# Integration files asserting on wall time or latency (a request answered
# within 0.5 s, /healthz under a flood, exsim's pacing and p50) or running
# the engine on a simulated clock at a wall-clock rate (a day in 12 or 29 s,
# whose budgets and rollovers must land inside it): alone after the pool.
SERIAL_INTEGRATION="test_daily_budget.py test_demo_desk.py test_exsim.py test_exsim_schedule.py
  test_http_edges.py test_kafka_dev.py test_pacer_trainer.py test_receiver.py test_sim_clock.py
  test_stream_e2e.py"
# The longest files of the pool (~30-70 s each), started first.
FIRST_INTEGRATION="test_reports.py test_datastream.py test_standalone.py test_alerts.py
  test_swap_trainer.py test_report.py"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
jobdir=$(mktemp -d)
trap 'rm -rf "$jobdir"' EXIT
# job KEY CMD...: runs CMD with its output in $jobdir/KEY.log, its exit code
# in KEY.rc and its wall time in KEY.s.
job() {
  local key=$1 t0; shift; t0=$(date +%s.%N)
  "$@" >"$jobdir/$key.log" 2>&1; echo $? >"$jobdir/$key.rc"
  echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}' >"$jobdir/$key.s"
}
# report KEY NAME: the job's summary line, its log if it failed, the tally.
report() {
  local f=$jobdir/$1
  if [ "$(cat "$f.rc")" != 0 ]; then cat "$f.log"; echo "FAIL $2"; fi
  tally "$f.log" "$2"
  grep -E 'passed, [0-9]+ failed' "$f.log" | tail -1 | sed "s|^|$2: |; s|\$| ($(cat "$f.s")s)|"
}
keyof() { echo "$1" | tr '/' '_'; }

phase_start
names=(); cmds=()
for t in $(find "$BUILD/test" "$BUILD/asan/test" -type f -name '*_test' 2>/dev/null | sort); do
  names+=("$t"); cmds+=("$t")
done
for r in $(find "$BUILD/asan/fuzz" -type f -name 'fuzz_*' 2>/dev/null | sort); do
  name=$(basename "$r"); corpus=fuzz/corpus/${name#fuzz_}
  [ -d "$corpus" ] || continue
  seeds=""; [ "$name" = fuzz_openrtb ] && seeds=tests/fixtures/openrtb # the IAB examples seed it too
  # the differential parser target replays every OpenRTB seed as well
  [ "$name" = fuzz_openrtb_diff ] && seeds="fuzz/corpus/openrtb tests/fixtures/openrtb"
  names+=("$r"); cmds+=("$r $corpus $seeds")
done
# The longest CPU-bound tests (simulated markets, stores under ASan) start
# first so that none of them is left running alone at the end of the pool.
HEAVY_UNIT="pacer_value_test pacer_joint_test store_test model_test factors_test"
order=()
for pass_ in heavy rest; do
  for i in "${!names[@]}"; do
    [[ " $HEAVY_UNIT " == *" $(basename "${names[$i]}") "* ]] && h=heavy || h=rest
    [ "$h" = "$pass_" ] && order+=("$i")
  done
done
serial=()
for i in "${order[@]}"; do
  n=${names[$i]}
  if [[ " $SERIAL_UNIT " == *" $(basename "$n") "* ]]; then serial+=("$i"); continue; fi
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  # shellcheck disable=SC2086 # a fuzz command's words split on purpose
  job "$(keyof "$n")" ${cmds[$i]} &
done
wait
for i in "${serial[@]}"; do
  # shellcheck disable=SC2086
  job "$(keyof "${names[$i]}")" ${cmds[$i]}
done
for n in "${names[@]}"; do report "$(keyof "$n")" "$n"; done
phase_end unit+fuzz

phase_start
log=$(mktemp)
BUILD=$BUILD python3 tests/run.py tests -j "$JOBS" --serial "$SERIAL_INTEGRATION" \
  --first "$FIRST_INTEGRATION" 2>&1 | tee "$log"
tally "$log" integration
rm -f "$log"
phase_end integration

# The quick recovery subset: one SIGKILL per component (the six daemons and
# the dev Kafka broker) under load, ~3 min (`make recovery` runs every
# scenario, ~40 min: freezes, broker faults, database crash, power cut,
# swaps, and the long outages with budgets that run out during them). Serial:
# each scenario measures its own recovery time under a steady load.
phase_start
log=$(mktemp)
BEAT_RECOVERY_IN_TIME_MIN=${BEAT_RECOVERY_IN_TIME_MIN:-99.0} \
  BEAT_RECOVERY_REPORT=${BEAT_RECOVERY_REPORT:-$(mktemp -d)/report.md} \
  BUILD=$BUILD python3 tests/run.py recovery-tests kill- 2>&1 | tee "$log"
tally "$log" recovery
rm -f "$log"
phase_end recovery
echo "phases: ${phases[*]}"
echo "total: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
