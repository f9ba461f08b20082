#!/usr/bin/env bash
# Installs the freshly built provider into a filesystem mirror and writes a
# Terraform CLI config that uses it, so `terraform init` downloads nothing.
# Usage: TF_CLI_CONFIG_FILE=$PWD/.pivot/terraformrc terraform init
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${PIVOT_PROVIDER_VERSION:-0.1.0}
OSARCH="$(go env GOOS)_$(go env GOARCH)"
MIRROR="$PWD/.pivot/mirror"
DEST="$MIRROR/registry.terraform.io/pivotapp/pivot/$VERSION/$OSARCH"
mkdir -p "$DEST"
cp bin/terraform-provider-pivot "$DEST/terraform-provider-pivot_v$VERSION"
cat >.pivot/terraformrc <<RC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/pivotapp/pivot"]
  }
  direct {
    exclude = ["registry.terraform.io/pivotapp/pivot"]
  }
}
disable_checkpoint = true
RC
echo "provider: pivotapp/pivot $VERSION installed in $MIRROR (CLI config .pivot/terraformrc)"
