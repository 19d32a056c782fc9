#!/usr/bin/env bash
# Load benchmark: jwtgate against nginx (plain proxying, the floor) and HAProxy
# 2.6 jwt_verify, in one run on this machine, everything on 127.0.0.1.
#   bench/load.sh                 # defaults: 5 s per run, 3 alternating rounds
#   DURATION=10 ROUNDS=5 bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh bench
[ -x build/jwtgate ] || make build
exec /usr/bin/python3 bench/load.py "$@"
