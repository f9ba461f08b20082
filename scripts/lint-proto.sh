#!/usr/bin/env bash
# buf lint, format and breaking (against main), when there are protos.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
if [[ ! -f buf.yaml ]] || ! compgen -G "proto/*/*/*/*.proto" >/dev/null; then
  echo "lint-proto: no protos yet"
  exit 0
fi
buf lint
buf format --diff --exit-code
if git rev-parse --verify -q main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then
  buf breaking --against '.git#branch=main'
else
  echo "lint-proto: main has no buf module yet; breaking check skipped for this first version"
fi
echo "lint-proto: ok"
