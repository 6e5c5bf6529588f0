#!/usr/bin/env bash
# The Talqy benchmark: installs wrk, nginx and GNU time from Debian when missing, builds the
# release binary, then runs bench/bench.py (seed, serve on SQLite then PostgreSQL, drive with
# wrk, compare with nginx). All flags go to bench.py; see `bench/run.sh --help`.
#   bench/run.sh --out bench.json                 # full run (about 5 minutes)
#   bench/run.sh --duration 3s --comments 5000    # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in wrk:wrk nginx:nginx /usr/bin/time:time curl:curl psql:postgresql-client python3:python3; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[bench] installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian starts nginx as a service on install; the benchmark runs its own on a free port.
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "[bench] building the release binary" >&2
  cargo build --release --locked --bin talqy >&2
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "[bench] PostgreSQL is not answering on 127.0.0.1:5432; start it or pass --databases sqlite" >&2
fi
exec python3 bench/bench.py "$@"
