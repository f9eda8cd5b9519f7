#!/usr/bin/env bash
# make demo: the whole engine (embedded Kafka, six daemons) against the
# exchange simulator for BEAT_DEMO_DURATION_S seconds of daily-shaped traffic
# with a ×5 surge, then a report graded against ground truth (docs/demo.md).
# Leaves the engine's files under $BEAT_DEMO_DIR (default run/demo) and the
# report (report.md, summary.json, PNGs) under run/report (or
# $BEAT_DEMO_DIR/report when BEAT_DEMO_DIR is set).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
RUN=${BEAT_DEMO_DIR:-$PWD/run/demo}
if [ -n "${BEAT_DEMO_DIR:-}" ]; then REPORT=${BEAT_REPORT_DIR:-$RUN/report}
else REPORT=${BEAT_REPORT_DIR:-$PWD/run/report}; fi
DURATION=${BEAT_DEMO_DURATION_S:-150}
RATE=${BEAT_DEMO_RATE:-300}
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
# Placeholder flights for start-up; the real ones are set once every daemon
# is ready, so that no campaign's flight starts before the traffic does.
python3 scripts/demo_campaigns.py --compat docs/examples/demo-campaigns.json \
  "$RUN/campaigns.json" "$((DURATION + 600))" "$RATE"
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
"$BIN/beatctl" up --campaigns "$RUN/campaigns.json" --exchanges docs/examples/exchanges.json
# shellcheck disable=SC1091
source "$RUN/env"
python3 scripts/report.py --wait-ready "$RUN" > "$RUN/versions-before.json"

echo "== campaigns: flights inside the run, budgets sized to the traffic"
python3 scripts/demo_campaigns.py docs/examples/demo-campaigns.json "$RUN/campaigns-demo.json" \
  "$DURATION" "$RATE" "$(( $(date +%s%3N) + 1000 ))"
python3 scripts/report.py --put-campaigns "$RUN" "$RUN/campaigns-demo.json" "$REPORT/campaigns.json"

python3 scripts/report.py --poll "$RUN" "$REPORT/engine.jsonl" &
POLL=$!

echo "== beat-exsim as exchange $BEAT_EXSIM_EXCHANGE: ${DURATION}s at ${RATE} req/s on average (wave $WAVE, surge ${SURGE:-none}, drop ${DROP:-none}, price wave $PRICE_WAVE)"
"$BIN/beat-exsim" --inference "$BEAT_INFERENCE_URLS" --rate "$RATE" --duration "$DURATION" \
  --seed "$SEED" --wave "$WAVE" "${SHAPE[@]}" --price-wave "$PRICE_WAVE" \
  --loss-price "$LOSS_PRICE" --connections "$CONNS" --auc-window-s "$AUC_WINDOW" \
  --currency-rates "$BEAT_CURRENCY_RATES" --campaigns "$REPORT/campaigns.json" \
  --timeline "$REPORT/exsim-timeline.jsonl" --events "$REPORT/events.jsonl" \
  --stats-every-s 10 --json "$REPORT/exsim.json" > "$REPORT/exsim.txt"
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
