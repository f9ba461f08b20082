#!/usr/bin/env bash
# make generate: protobuf code (buf) and provider docs (tfplugindocs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" CHECKPOINT_DISABLE=1
if [[ -f buf.gen.yaml ]]; then
  buf generate
  echo "generate: protobuf code"
fi
# Each service's env contract, as its binary prints it; modules/service
# feeds it to pivot_service so a plan fails on a missing variable.
for decl in services/*/service.tf; do
  svc=$(basename "$(dirname "$decl")")
  if [[ -d "services/$svc/cmd/$svc" ]]; then
    go run "./services/$svc/cmd/$svc" --print-env-schema >"services/$svc/env-schema.json"
  fi
done
echo "generate: services/*/env-schema.json"
tfplugindocs generate --provider-name pivot --rendered-provider-name "Pivot" >/dev/null
echo "generate: provider docs in docs/"
