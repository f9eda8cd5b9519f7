#!/usr/bin/env bash
# make bench: side-by-side benchmarks, each a ratio against a baseline
# measured in the same run on the same 2 cores. Nothing here asserts speed.
#   bench.py             inference (alone: 1,000 campaigns, 2^20 model; and in
#                        the whole engine) and receiver vs nginx fixed reply
#   bench_stream.py      receiver notices, bid logs nng→Kafka, datastream vs kcat
#   bench_supervisor.py  state → N subscribers latency, 16 MB checkpoint fan-out
#   bench_trainer.py     trainer vs liblinear, BLAS vs loops
#   bench_slowhttp.py    1,000 slowloris + 1,000 slow-body sockets per daemon
#                        (slowhttptest): /healthz latency, bids vs baseline
# The C probes they drive (bench/*.c) are built by `make bench-probes` into
# $BUILD/bench/ (`make bench` does that first); a script finding its probe
# missing says so and fails.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench.py bench_stream.py bench_supervisor.py bench_trainer.py bench_slowhttp.py; do
  echo "== $b"
  python3 "bench/$b" || { echo "bench: $b failed"; status=1; }
done
exit $status
