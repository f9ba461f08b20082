#!/usr/bin/env bash
# goreleaser check, then a snapshot release for linux/amd64 only, and a look
# at what it produced: the registry layout of the provider.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
goreleaser check
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The same configuration, narrowed to one target so the check stays quick.
sed -e 's/goos: \[linux, darwin, windows, freebsd\]/goos: [linux]/' \
    -e 's/goos: \[linux, darwin\]/goos: [linux]/' \
    -e 's/goarch: \[amd64, arm64\]/goarch: [amd64]/' .goreleaser.yaml >"$tmp/goreleaser.yaml"
goreleaser release --snapshot --clean --skip=sign,publish,before --config "$tmp/goreleaser.yaml" --parallelism 2 >"$tmp/log" 2>&1 || {
  cat "$tmp/log"; exit 1; }
shopt -s nullglob
zips=(dist/terraform-provider-pivot_*_linux_amd64.zip)
sums=(dist/terraform-provider-pivot_*_SHA256SUMS)
[[ ${#zips[@]} == 1 && ${#sums[@]} == 1 ]] || { ls dist; echo "check-release: registry layout incomplete" >&2; exit 1; }
# The manifest is uploaded as a release extra file (not copied into dist);
# its checksum must be in SHA256SUMS, under its registry name.
grep -q '_manifest.json$' "${sums[0]}" || { echo "check-release: SHA256SUMS does not list the manifest" >&2; exit 1; }
grep -q '"6.0"' terraform-registry-manifest.json || { echo "check-release: manifest lacks protocol 6.0" >&2; exit 1; }
grep -q "$(basename "${zips[0]}")" "${sums[0]}" || { echo "check-release: SHA256SUMS does not list the zip" >&2; exit 1; }
unzip -l "${zips[0]}" | grep -q 'terraform-provider-pivot_v' || { echo "check-release: zip lacks the provider binary" >&2; exit 1; }
(cd dist && sha256sum --check --ignore-missing "$(basename "${sums[0]}")" >/dev/null)
echo "check-release: $(basename "${zips[0]}"), SHA256SUMS (zip + manifest) and protocol 6.0 ok"
rm -rf dist
