#!/usr/bin/env bash
# make bench: side-by-side benchmarks, each a ratio against a baseline
# measured in the same run on the same 2 cores (see bench/bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/bench.py "$@"
