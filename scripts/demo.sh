#!/usr/bin/env bash
# make demo: the whole engine (embedded Kafka, six daemons) against the
# exchange simulator for BEAT_DEMO_DURATION_S seconds of daily-shaped traffic
# with a ×5 surge, then a report graded against ground truth (docs/demo.md).
# Leaves the engine's files under $BEAT_DEMO_DIR (default run/demo) and the
# report (report.md, summary.json, PNGs) under run/report (or
# $BEAT_DEMO_DIR/report when BEAT_DEMO_DIR is set).
# BEAT_DEMO_MODE=desk (make demo-desk): instead, a flight of
# BEAT_DESK_DAYS engine days on a simulated clock, two inference nodes,
# campaigns that use every trading-desk control, and a "Trading desk"
# section in the report (docs/demo.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
RUN=${BEAT_DEMO_DIR:-$PWD/run/demo}
if [ -n "${BEAT_DEMO_DIR:-}" ]; then REPORT=${BEAT_REPORT_DIR:-$RUN/report}
else REPORT=${BEAT_REPORT_DIR:-$PWD/run/report}; fi
MODE=${BEAT_DEMO_MODE:-standard}
DURATION=${BEAT_DEMO_DURATION_S:-150}
RATE=${BEAT_DEMO_RATE:-300}
INFERENCE_NODES=1
EXSIM_EXTRA=()
if [ "$MODE" = desk ]; then
  RATE=${BEAT_DEMO_RATE:-200}
  DAYS=${BEAT_DESK_DAYS:-3}
  CLOCK_RATE=${BEAT_DESK_CLOCK_RATE:-1000} # engine ms per wall ms: a day in 86 s
  LEAD_S=${BEAT_DESK_LEAD_S:-40}           # wall seconds for start-up before the flights
  export BEAT_EXSIM_USERS=${BEAT_EXSIM_USERS:-1000} # users recur: caps bind
  BEAT_DEMO_SURGE=${BEAT_DEMO_SURGE-}
  BEAT_DEMO_DROP=${BEAT_DEMO_DROP-}
  INFERENCE_NODES=2
fi
WAVE=${BEAT_DEMO_WAVE:-0.5}
# AT:LEN:FACTOR, comma-separated for several; empty for none.
SURGE=${BEAT_DEMO_SURGE-0.55:0.1:5}   # ×5 for 10% of the run
DROP=${BEAT_DEMO_DROP-0.25:0.04:0.3}  # and a short drop
PRICE_WAVE=${BEAT_DEMO_PRICE_WAVE:-0.15} # the market price's daily wave
LOSS_PRICE=${BEAT_DEMO_LOSS_PRICE:-1}    # 0: loss notices carry no price
SEED=${BEAT_DEMO_SEED:-42}
CONNS=${BEAT_DEMO_CONNECTIONS:-256}   # per inference node: room for the surge
AUC_WINDOW=${BEAT_DEMO_AUC_WINDOW_S:-15} # Bayes AUC per window of this many seconds
export BEAT_RUN_DIR=$RUN
SHAPE=()
[ -n "$SURGE" ] && SHAPE+=(--surge "$SURGE")
[ -n "$DROP" ] && SHAPE+=(--surge "$DROP")

"$BIN/beatctl" down >/dev/null 2>&1 || true
rm -rf "$RUN" "$REPORT" && mkdir -p "$RUN" "$REPORT"
if [ "$MODE" = desk ]; then
  # Absolute flights on engine time; the simulated clock reaches the first
  # one LEAD_S wall seconds from now, when every daemon is up. Every daemon
  # and beat-exsim read the same BEAT_SIM_CLOCK.
  read -r FIRST_MS LAST_MS < <(python3 scripts/desk_campaigns.py "$RUN/campaigns.json" \
    "$RUN/list-crm-desk.txt" "$DAYS" "$RATE" "$CLOCK_RATE")
  ORIGIN_MS=$(( $(date +%s%3N) + LEAD_S * 1000 ))
  export BEAT_SIM_CLOCK="$ORIGIN_MS:$FIRST_MS:$CLOCK_RATE"
  DURATION=$(python3 -c "print(round(($LAST_MS - $FIRST_MS) / $CLOCK_RATE / 1000 + 1, 1))")
  EXSIM_EXTRA=(--list "crm-desk=$RUN/list-crm-desk.txt")
else
  # Placeholder flights for start-up; the real ones are set once every daemon
  # is ready, so that no campaign's flight starts before the traffic does.
  python3 scripts/demo_campaigns.py --compat docs/examples/demo-campaigns.json \
    "$RUN/campaigns.json" "$((DURATION + 600))" "$RATE"
fi
POLL=
cleanup() {
  [ -n "$POLL" ] && kill "$POLL" 2>/dev/null || true
  "$BIN/beatctl" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Faster loops than production defaults so a short run shows learning and pacing.
export BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S=${BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S:-5}
# A day squeezed into minutes: the pacing loop runs 4× a second (buckets as
# often), or a flight's last seconds are a handful of control steps.
export BEAT_ACTUATOR_TICK_MS=${BEAT_ACTUATOR_TICK_MS:-250}
export BEAT_DATASTREAM_BUCKET_MS=${BEAT_DATASTREAM_BUCKET_MS:-250}
export BEAT_DATASTREAM_JOIN_WINDOW_MS=${BEAT_DATASTREAM_JOIN_WINDOW_MS:-5000}
# ...and budget leases are renewed as often: the bids still unsettled when
# a day (or flight) ends are locked at their worst case until a renewal.
export BEAT_INFERENCE_LEASE_EVERY_MS=${BEAT_INFERENCE_LEASE_EVERY_MS:-250}
# A short run has few clicks: keep every negative (default 10%), and judge
# the model over its last 8,000 samples (about the last minute), not since
# its cold start.
export BEAT_DATASTREAM_NEG_RATE=${BEAT_DATASTREAM_NEG_RATE:-1}
export BEAT_LIGHTTRAINER_WINDOW=${BEAT_LIGHTTRAINER_WINDOW:-8000}
# The simulator's notices arrive 50–500 ms after the auction: the pacing
# stop's transit allowance follows (production: measure your exchange's).
export BEAT_ACTUATOR_TRANSIT_S=${BEAT_ACTUATOR_TRANSIT_S:-0.3}
# The simulator's floors come in USD, EUR and GBP at these rates (the same
# table for inference, receivers and the simulator).
export BEAT_CURRENCY_RATES=${BEAT_CURRENCY_RATES:-EUR=1.08,GBP=1.27}
# The IAB vendor id of this demo's operator (an example value): GDPR users
# who consent name it in their TC strings (beat-exsim --consent-share), and
# inference uses their personal data only then (docs/privacy.md).
export BEAT_INFERENCE_TCF_VENDOR_ID=${BEAT_INFERENCE_TCF_VENDOR_ID:-4242}
export BEAT_EXSIM_TCF_VENDOR_ID=$BEAT_INFERENCE_TCF_VENDOR_ID
# Grading only: inference tells the simulator its pCTR per candidate
# campaign (X-Beat-Explain), for the pCTR oracle (docs/demo.md).
export BEAT_INFERENCE_EXPLAIN=${BEAT_INFERENCE_EXPLAIN:-1}
# The actuator's pacing mode, when one is asked for.
if [ -n "${BEAT_DEMO_PACING:-}" ]; then export BEAT_ACTUATOR_PACING_MODE=$BEAT_DEMO_PACING; fi

echo "== beatctl up"
# Exchanges with keys generated at up (run/exchange-keys, mode 0600); run/env
# exports beat-exsim's identity (BEAT_EXSIM_EXCHANGE / _KEY), so it sends
# as a configured exchange, as a real one would (docs/exchanges.md).
"$BIN/beatctl" up --campaigns "$RUN/campaigns.json" --exchanges docs/examples/exchanges.json \
  --inference "$INFERENCE_NODES"
# shellcheck disable=SC1091
source "$RUN/env"
python3 scripts/report.py --wait-ready "$RUN" > "$RUN/versions-before.json"

if [ "$MODE" = desk ]; then
  echo "== campaigns: $DAYS engine days from $(date -u -d "@$((FIRST_MS / 1000))" +%FT%TZ) at ×$CLOCK_RATE; the first-party list"
  python3 scripts/report.py --put-list "$RUN" crm-desk "$RUN/list-crm-desk.txt"
  python3 scripts/report.py --put-campaigns "$RUN" "$RUN/campaigns.json" "$REPORT/campaigns.json"
  WAIT_S=$(python3 -c "print(max(0.0, ($ORIGIN_MS - $(date +%s%3N)) / 1000))")
  echo "== waiting ${WAIT_S}s for the flights to start (raise BEAT_DESK_LEAD_S if this is 0)"
  sleep "$WAIT_S"
else
  echo "== campaigns: flights inside the run, budgets sized to the traffic"
  python3 scripts/demo_campaigns.py docs/examples/demo-campaigns.json "$RUN/campaigns-demo.json" \
    "$DURATION" "$RATE" "$(( $(date +%s%3N) + 1000 ))"
  python3 scripts/report.py --put-campaigns "$RUN" "$RUN/campaigns-demo.json" "$REPORT/campaigns.json"
fi

python3 scripts/report.py --poll "$RUN" "$REPORT/engine.jsonl" &
POLL=$!

echo "== beat-exsim as exchange $BEAT_EXSIM_EXCHANGE: ${DURATION}s at ${RATE} req/s on average (wave $WAVE, surge ${SURGE:-none}, drop ${DROP:-none}, price wave $PRICE_WAVE)"
"$BIN/beat-exsim" --inference "$BEAT_INFERENCE_URLS" --rate "$RATE" --duration "$DURATION" \
  --seed "$SEED" --wave "$WAVE" "${SHAPE[@]}" --price-wave "$PRICE_WAVE" \
  --loss-price "$LOSS_PRICE" --connections "$CONNS" --auc-window-s "$AUC_WINDOW" \
  --currency-rates "$BEAT_CURRENCY_RATES" --campaigns "$REPORT/campaigns.json" \
  --timeline "$REPORT/exsim-timeline.jsonl" --events "$REPORT/events.jsonl" \
  --stats-every-s 10 --json "$REPORT/exsim.json" "${EXSIM_EXTRA[@]}" > "$REPORT/exsim.txt"
cat "$REPORT/exsim.txt"

echo "== report"
python3 scripts/report.py --settle "$RUN"
kill "$POLL" 2>/dev/null || true
wait "$POLL" 2>/dev/null || true
POLL=
cp "$RUN/versions-before.json" "$REPORT/"
python3 scripts/report.py "$RUN" "$REPORT" | tee "$REPORT/report.txt"
"$BIN/beatctl" status || true
"$BIN/beatctl" down
trap - EXIT
