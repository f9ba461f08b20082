#!/usr/bin/env bash
# terraform fmt -check and validate on every module, env and example, with
# the provider taken from the filesystem mirror (scripts/install-provider.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" TF_CLI_CONFIG_FILE="$PWD/.pivot/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
dirs=()
for d in modules/* envs/* envs/tenants examples/* services/*; do
  [[ -d "$d" ]] && compgen -G "$d/*.tf" >/dev/null && dirs+=("$d")
done
terraform fmt -check -recursive -diff modules envs examples services
if [[ ! -f .pivot/terraformrc ]]; then
  echo "lint-terraform: run 'make install-provider' first" >&2
  exit 1
fi
for d in "${dirs[@]}"; do
  # services/<name> folders hold a declaration file, not a root module.
  [[ "$d" == services/* ]] && continue
  tmp=$(mktemp -d)
  # Validate a copy so no .terraform folder or lock file lands in the tree.
  cp -r "$d"/. "$tmp"/
  if ! (cd "$tmp" && terraform init -backend=false -input=false >/dev/null && terraform validate -no-color >/dev/null); then
    (cd "$tmp" && terraform validate -no-color) || true
    echo "lint-terraform: $d does not validate" >&2
    rm -rf "$tmp"
    exit 1
  fi
  rm -rf "$tmp"
  echo "validate: $d ok"
done
