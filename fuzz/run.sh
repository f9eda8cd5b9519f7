#!/usr/bin/env bash
# make fuzz: builds every fuzz/fuzz_*.c with clang's libFuzzer under
# ASan/UBSan, replays its corpus, then fuzzes each for FUZZ_SECONDS
# (default 60). New crashes land in build/fuzz/<target>/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${FUZZ_SECONDS:-60}
PKGS="rdkafka libevent libevent_pthreads sqlite3 openblas libcjson libcurl libcrypto zlib libxxhash"
out=$BUILD/fuzz; mkdir -p "$out"
src=$(ls common/*.c | grep -v _test.c)
status=0
for f in fuzz/fuzz_*.c; do
  name=$(basename "$f" .c); dir=$out/$name; mkdir -p "$dir/corpus"
  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
    $(pkg-config --cflags $PKGS) "$f" $src -o "$dir/$name" \
    $(pkg-config --libs $PKGS) -lnng -lm -ldl -pthread
  seeds=fuzz/corpus/${name#fuzz_}
  [ -d "$seeds" ] && cp -n "$seeds"/* "$dir/corpus/" 2>/dev/null || true
  echo "== $name: replay, then ${SECONDS_EACH}s of fuzzing"
  if ! (cd "$dir" && ./"$name" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -rss_limit_mb=2048 corpus 2>&1 | tail -5); then
    echo "FAIL $name (see $dir)"; status=1
  fi
done
exit $status
