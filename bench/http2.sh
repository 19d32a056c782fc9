#!/usr/bin/env bash
# HTTP/2 benchmark: jwtgate (h2c, JWT required, cached token) against nginx and
# HAProxy proxying HTTP/2 without auth, a gRPC round trip, and RSS per idle
# HTTP/2 connection; in one run on this machine, everything on 127.0.0.1.
#   bench/http2.sh                            # defaults: h2load -c20 -m10 -D10, 3 rounds
#   DURATION=5 ROUNDS=1 PARTS=load bench/http2.sh
#   JWTGATE_BINARY=/path/to/jwtgate bench/http2.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh bench
if [ -z "${JWTGATE_BINARY:-}" ]; then
  [ -x build/jwtgate ] || make build
fi
exec /usr/bin/python3 bench/http2.py "$@"
