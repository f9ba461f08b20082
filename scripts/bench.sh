#!/usr/bin/env bash
# make bench: every benchmark runs once (-benchtime 1x) and prints its
# figures as `bench: <name> <value> <unit> baseline <value> <unit> ratio <r>`,
# the baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" CHECKPOINT_DISABLE=1 TF_ACC=1
out=$(mktemp)
go test -run '^$' -bench . -benchtime 1x -timeout 60m ./... 2>&1 | tee "$out" | grep -E '^(bench:|step:|--- FAIL|FAIL|panic)' || true
if grep -qE '^(--- FAIL|FAIL|panic)' "$out"; then
  echo "bench: a benchmark failed; full output in $out" >&2
  exit 1
fi
rm -f "$out"
# The services' benchmarks run as a program: they start their own
# PostgreSQL and NATS and compare with the same PostgreSQL's raw insert rate.
go run ./services/bench
