#!/usr/bin/env bash
# terraform fmt -check and validate on every module, env and example, with
# the provider taken from the filesystem mirror (scripts/install-provider.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" TF_CLI_CONFIG_FILE="$PWD/.pivot/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
dirs=()
# examples/provider, examples/resources and examples/data-sources are
# tfplugindocs snippets (fmt-checked, not root modules); services/ is the
# catalog module, validated on its own.
for d in modules/* envs/* examples/demo services; do
  [[ -d "$d" ]] && compgen -G "$d/*.tf" >/dev/null && dirs+=("$d")
done
terraform fmt -check -recursive -diff modules envs examples services
if [[ ! -f .pivot/terraformrc ]]; then
  echo "lint-terraform: run 'make install-provider' first" >&2
  exit 1
fi
for d in "${dirs[@]}"; do
  tmp=$(mktemp -d)
  # Validate a copy of the tree, not of the folder alone, so relative module
  # sources (../../modules/service, ../../services) resolve; no .terraform
  # folder or lock file lands in the real tree. Local overrides stay out.
  tar -cf - --exclude=.terraform --exclude='*.tfstate*' --exclude=.terraform.lock.hcl --exclude='*_override.tf' \
    --exclude='*.go' --exclude='internal' modules envs examples services | tar -C "$tmp" -xf -
  if ! (cd "$tmp/$d" && terraform init -backend=false -input=false >/dev/null && terraform validate -no-color >/dev/null); then
    (cd "$tmp/$d" && terraform validate -no-color) || true
    echo "lint-terraform: $d does not validate" >&2
    rm -rf "$tmp"
    exit 1
  fi
  rm -rf "$tmp"
  echo "validate: $d ok"
done
