#!/usr/bin/env bash
# Runs a command and says how long it took: `make test` prints one such line
# per step, so a CI log shows where the time goes.
# usage: scripts/timed.sh NAME COMMAND [ARGS...]
name=$1
shift
start=$(date +%s)
"$@"
status=$?
echo "time: $name $(( $(date +%s) - start )) s (exit $status)"
exit $status
