#!/usr/bin/env bash
# Start an apply run in a Terraform Cloud workspace and wait for it.
# Env: TFC_TOKEN, TFC_ORGANIZATION, WORKSPACE, RUN_MESSAGE, optional TARGET
# (a resource address, for one tenant's targeted run).
set -euo pipefail
api="https://${TFC_HOSTNAME:-app.terraform.io}/api/v2"
auth=(-H "Authorization: Bearer $TFC_TOKEN" -H "Content-Type: application/vnd.api+json")
ws_id=$(curl -fsS "${auth[@]}" "$api/organizations/$TFC_ORGANIZATION/workspaces/$WORKSPACE" | jq -r .data.id)
targets='[]'
if [[ -n "${TARGET:-}" ]]; then targets=$(jq -cn --arg t "$TARGET" '[$t]'); fi
body=$(jq -cn --arg ws "$ws_id" --arg msg "$RUN_MESSAGE" --argjson targets "$targets" \
  '{data:{type:"runs",attributes:{message:$msg,"auto-apply":true,"target-addrs":$targets},relationships:{workspace:{data:{type:"workspaces",id:$ws}}}}}')
run_id=$(curl -fsS "${auth[@]}" -X POST "$api/runs" -d "$body" | jq -r .data.id)
echo "run $run_id started in $WORKSPACE"
for _ in $(seq 1 360); do
  status=$(curl -fsS "${auth[@]}" "$api/runs/$run_id" | jq -r .data.attributes.status)
  case "$status" in
    applied|planned_and_finished) echo "run $run_id: $status"; exit 0 ;;
    errored|canceled|discarded|force_canceled) echo "run $run_id: $status" >&2; exit 1 ;;
  esac
  sleep 10
done
echo "run $run_id did not finish in an hour" >&2
exit 1
