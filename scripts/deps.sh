#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only when missing.
# Usage: scripts/deps.sh [build|test|demo|bench|fuzz]. Root runs apt-get;
# anyone else gets the exact command to run.
set -euo pipefail
need=(build-essential pkg-config python3 librdkafka-dev libevent-dev libnng-dev
      libsqlite3-dev libopenblas-dev libcjson-dev libcurl4-openssl-dev libssl-dev
      zlib1g-dev libxxhash-dev sqlite3 curl tzdata)
case "${1:-build}" in
  test)  need+=(kcat prometheus docker-compose chromium clang-format) ;;
  demo)  need+=(gnuplot-nox) ;;
  bench) need+=(wrk nginx-light kcat liblinear-tools hyperfine slowhttptest) ;;
  fuzz)  need+=(clang libclang-rt-14-dev) ;;
esac
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "beat: missing Debian packages: ${missing[*]}" >&2
  echo "beat: run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "beat: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
