#!/usr/bin/env bash
# make profile: a CPU profile (pprof) of the provider process during one
# terraform plan.
#
#   make profile                 the 300-resource NATS plan of `make bench`
#                                (100 streams, 200 consumers, no changes)
#   make profile DIR=envs/staging  `terraform plan` in an initialised root
#                                that uses the provider built from this tree
#                                (make install-provider)
#
# Profiles go to $PROFILE_DIR (default .pivot/profile, one cpu-<pid>.pprof
# per provider process; merged into provider.pprof); the top functions are
# printed. Explore with: go tool pprof -http=: .pivot/profile/provider.pprof
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH" CHECKPOINT_DISABLE=1 TF_ACC=1
out=$(realpath -m "${PROFILE_DIR:-.pivot/profile}")
rm -rf "$out" && mkdir -p "$out"
unset TF_LOG TF_LOG_PROVIDER
if [[ -n "${DIR:-}" ]]; then
  # The provider built from this tree, through the mirror make
  # install-provider writes, unless the caller chose a CLI config.
  if [[ -z "${TF_CLI_CONFIG_FILE:-}" && -f .pivot/terraformrc ]]; then
    export TF_CLI_CONFIG_FILE="$PWD/.pivot/terraformrc"
  fi
  (cd "$DIR" && PIVOT_CPU_PROFILE_DIR="$out" terraform plan -input=false -no-color -lock=false >"$out/plan.log") ||
    { echo "profile: terraform plan failed; see $out/plan.log" >&2; exit 1; }
else
  PIVOT_BENCH_PROFILE_DIR="$out" go test -run '^$' -bench 'BenchmarkNATSApply100Streams200Consumers$' \
    -benchtime 1x -timeout 30m ./provider/ | grep -E '^(bench:|--- FAIL|FAIL|panic)' || true
fi
shopt -s nullglob
profiles=("$out"/cpu-*.pprof)
if (( ${#profiles[@]} == 0 )); then
  echo "profile: no provider profile was written" >&2
  exit 1
fi
go tool pprof -proto "${profiles[@]}" >"$out/provider.pprof" 2>/dev/null
go tool pprof -top -nodecount=30 "$out/provider.pprof" 2>/dev/null | head -40
echo "profile: $out/provider.pprof"
