#!/usr/bin/env bash
# make demo: the whole engine (embedded Kafka, six daemons) against the
# exchange simulator for BEAT_DEMO_DURATION_S seconds, then a report.
# Leaves everything under run/demo (logs, SQLite, report.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
RUN=${BEAT_DEMO_DIR:-$PWD/run/demo}
DURATION=${BEAT_DEMO_DURATION_S:-90}
RATE=${BEAT_DEMO_RATE:-300}
export BEAT_RUN_DIR=$RUN

"$BIN/beatctl" down >/dev/null 2>&1 || true
rm -rf "$RUN" && mkdir -p "$RUN"
python3 scripts/demo_campaigns.py docs/examples/campaigns.json "$RUN/campaigns.json" \
  "$((DURATION + 15))" "$RATE"
trap '"$BIN/beatctl" down >/dev/null 2>&1 || true' EXIT

# Faster loops than production defaults so a short run shows learning and pacing.
export BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S=${BEAT_LIGHTTRAINER_CHECKPOINT_EVERY_S:-5}
export BEAT_ACTUATOR_TICK_MS=${BEAT_ACTUATOR_TICK_MS:-1000}
export BEAT_DATASTREAM_JOIN_WINDOW_MS=${BEAT_DATASTREAM_JOIN_WINDOW_MS:-5000}

echo "== beatctl up"
"$BIN/beatctl" up --campaigns "$RUN/campaigns.json"
# shellcheck disable=SC1091
source "$RUN/env"
python3 scripts/report.py --wait-ready "$RUN" > "$RUN/versions-before.json"

echo "== beat-exsim: ${DURATION}s at ${RATE} req/s"
"$BIN/beat-exsim" --inference "$BEAT_INFERENCE_URLS" --rate "$RATE" \
  --duration "$DURATION" --seed 42 --stats-every-s 10 --json "$RUN/exsim.json"

echo "== report"
python3 scripts/report.py "$RUN" | tee "$RUN/report.md"
"$BIN/beatctl" status || true
"$BIN/beatctl" down
trap - EXIT
