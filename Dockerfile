# BEAT engine image: every daemon and tool built from Debian 12 packages.
# Build stage installs the -dev packages of scripts/deps.sh and runs
# `make all`; the runtime stage carries only the shared libraries, curl (for
# health checks) and build/bin. One image serves every docker-compose.yml
# service: the command picks the daemon. Not built in CI here (no Docker
# engine on the dev machine): see docs/deploy.md.
FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config python3 librdkafka-dev libevent-dev libnng-dev \
      libsqlite3-dev libopenblas-dev libcjson-dev libcurl4-openssl-dev libssl-dev \
      zlib1g-dev libxxhash-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make BUILD=build -j"$(nproc)" all

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libevent-2.1-7 libevent-pthreads-2.1-7 libnng1 libsqlite3-0 \
      libopenblas0-pthread libcjson1 libcurl4 libssl3 zlib1g libxxhash0 \
      ca-certificates curl sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/beat --shell /usr/sbin/nologin beat \
 && mkdir -p /var/lib/beat/datastream \
 && chown -R beat:beat /var/lib/beat
COPY --from=build /src/build/bin/ /usr/local/bin/
USER beat
WORKDIR /var/lib/beat
# Daemons log JSON lines to stderr (docker logs) and stop cleanly on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["beat-inference", "--help"]
