#!/usr/bin/env bash
# make fuzz: builds every fuzz/fuzz_*.c with clang's libFuzzer under
# ASan/UBSan (the Makefile's fuzz-targets: its packages, its sources),
# replays its corpus, then fuzzes each for FUZZ_SECONDS (default 60).
# New crashes land in $BUILD/fuzz/<target>/crash-*. FUZZ_ONLY=name runs
# the targets whose name contains it. The OpenRTB target is also seeded with
# the IAB examples of tests/fixtures/openrtb/ (kept once, there), and the
# differential one (fuzz_openrtb_diff) with the OpenRTB seeds too.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_EACH=${FUZZ_SECONDS:-60}
out=$BUILD/fuzz
"${MAKE:-make}" --no-print-directory -j2 BUILD="$BUILD" fuzz-targets
status=0
for f in fuzz/fuzz_*.c; do
  name=$(basename "$f" .c); dir=$out/$name
  case "$name" in *"${FUZZ_ONLY:-}"*) ;; *) continue ;; esac
  mkdir -p "$dir/corpus"
  seeds=fuzz/corpus/${name#fuzz_}
  [ -d "$seeds" ] && cp -n "$seeds"/* "$dir/corpus/" 2>/dev/null || true
  if [ "$name" = fuzz_openrtb_diff ]; then
    cp -n fuzz/corpus/openrtb/* "$dir/corpus/" 2>/dev/null || true
  fi
  if [ "$name" = fuzz_openrtb ] || [ "$name" = fuzz_openrtb_diff ]; then
    for s in $(find tests/fixtures/openrtb -name '*.json'); do
      cp -n "$s" "$dir/corpus/fixture-$(echo "${s#tests/fixtures/openrtb/}" | tr / -)"
    done
  fi
  echo "== $name: replay, then ${SECONDS_EACH}s of fuzzing"
  if ! (cd "$dir" && ./"$name" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -rss_limit_mb=2048 corpus 2>&1 | tail -5); then
    echo "FAIL $name (see $dir)"; status=1
  fi
done
exit $status
