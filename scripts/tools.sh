#!/usr/bin/env bash
# Installs the project's pinned tools into ./bin and checks the system
# packages the local platform stack needs. Idempotent: a tool whose pinned
# version is already in ./bin is not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
mkdir -p "$BIN" "$BIN/.versions"

# name  module@version  (binary name is the last path element of the package)
TOOLS=(
  "terraform github.com/hashicorp/terraform@v1.8.5"
  "buf github.com/bufbuild/buf/cmd/buf@v1.75.0"
  "protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"
  "protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1"
  "actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
  "tfplugindocs github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v0.25.0"
  "golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"
  "goreleaser github.com/goreleaser/goreleaser/v2@v2.16.0"
)

did=0
for entry in "${TOOLS[@]}"; do
  name=${entry%% *}
  pkg=${entry#* }
  stamp="$BIN/.versions/$name"
  if [[ -x "$BIN/$name" && -f "$stamp" && "$(cat "$stamp")" == "$pkg" ]]; then
    continue
  fi
  echo "tools: installing $pkg"
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "$pkg"
  echo "$pkg" >"$stamp"
  did=1
done

# System packages: moto's server (the AWS stand-in) and PostgreSQL's server
# binaries (the Aurora stand-in). Installed only where missing.
if ! command -v moto_server >/dev/null 2>&1; then
  echo "tools: moto_server missing; installing moto[server] with pip"
  python3 -m pip install --quiet 'moto[server]>=5.0' || {
    echo "tools: pip could not install moto[server]; install it by hand (pip install 'moto[server]')" >&2
    exit 1
  }
  did=1
fi
pg_ok=0
if command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then pg_ok=1; fi
if [[ $pg_ok == 0 ]] && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then pg_ok=1; fi
if [[ $pg_ok == 0 ]]; then
  echo "tools: PostgreSQL server binaries missing; installing Debian's postgresql package"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  did=1
fi

# The local ECS runtime gives every task a network namespace (iproute2) and
# routes Service Connect names inside it (nftables).
for pkg_bin in iproute2:ip nftables:nft; do
  pkg=${pkg_bin%%:*} bin=${pkg_bin#*:}
  if ! command -v "$bin" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$bin ]]; then
    echo "tools: $bin missing; installing Debian's $pkg package"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    did=1
  fi
done

if [[ $did == 0 ]]; then
  echo "tools: everything already installed (./bin, moto_server, PostgreSQL)"
else
  echo "tools: done"
fi
