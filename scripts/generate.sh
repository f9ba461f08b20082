#!/usr/bin/env bash
# make generate: protobuf code (buf) and provider docs (tfplugindocs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" CHECKPOINT_DISABLE=1
if [[ -f buf.gen.yaml ]]; then
  buf generate
  echo "generate: protobuf code"
fi
tfplugindocs generate --provider-name pivot --rendered-provider-name "Pivot" >/dev/null
echo "generate: provider docs in docs/"
