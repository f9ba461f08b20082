#!/usr/bin/env bash
# make demo: the whole delivery story on the local platform stack.
#
#   1. bring up the local stack (moto behind the local ECS runtime, nats-server x2,
#      PostgreSQL, Cloudflare emulator);
#   2. apply envs/staging (account 111111111111) at the declared image tags;
#      staging records its verified release; the runtime runs what was
#      deployed and `pivotctl local probe` sends a message through it;
#   3. CI's bump: `pivotctl image bump messenger <sha>`, and staging applies it;
#   4. promote: envs/prod (account 222222222222) deploys staging's release,
#      probed the same way;
#   5. add a tenant with `pivotctl tenant add` (account 333333333333) and
#      promote: envs/tenants deploys prod's release into the tenant's account
#      with what prod has (its own VPC, databases, NATS streams, endpoints),
#      probed the same way;
#   6. print what runs where.
#
# The demo works on a copy of the Terraform tree in .pivot/demo/tree, so the
# bump and the new tenant never touch your working tree. Running it again
# converges: every apply then has no changes. `scripts/demo.sh down` stops
# the stack and removes all demo state.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/bin:$PATH"
export TF_CLI_CONFIG_FILE="$ROOT/.pivot/terraformrc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
STATE_DIR="$ROOT/.pivot/local"
TREE="$ROOT/.pivot/demo/tree"
STAGING=111111111111 PROD=222222222222 TENANT=333333333333
# The demo's "new commit": a fixed SHA, so a second run converges.
DEMO_SHA=$(printf 'pivot demo bump' | sha1sum | cut -d' ' -f1)
REGISTRY=registry.local/pivotapp

step() { printf '\n==> %s\n' "$*"; }
role() { echo "arn:aws:iam::$1:role/pivot-deployer"; }

if [[ "${1:-}" == "down" ]]; then
  step "stopping the local platform stack and removing the demo's state"
  pivotctl local down
  rm -rf "$ROOT/.pivot/demo"
  exit 0
fi

step "1. local platform stack"
pivotctl local up
set -a; . "$STATE_DIR/env"; set +a

# The demo's state (Terraform state, the operator's secrets, the tenant)
# belongs to the stack it was made on: on a new stack, start over.
STACK_ID=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["pid"], s["started_at"])' "$STATE_DIR/state.json")
if [[ -d "$ROOT/.pivot/demo" && "$(cat "$ROOT/.pivot/demo/stack-id" 2>/dev/null)" != "$STACK_ID" ]]; then
  echo "demo: the stack is new; discarding the previous stack's demo state"
  rm -rf "$ROOT/.pivot/demo"
fi
mkdir -p "$ROOT/.pivot/demo"
echo "$STACK_ID" >"$ROOT/.pivot/demo/stack-id"
PG_ENDPOINT=$(python3 -c 'import os,urllib.parse as u; print(u.urlparse(os.environ["PIVOT_POSTGRES_ADMIN_URL"]).netloc.split("@")[1])')

if [[ ! -d "$TREE" ]]; then
  step "copying the Terraform tree to $TREE"
  mkdir -p "$TREE/services"
  cp -r go.mod envs modules "$TREE/"
  cp services/services.tf services/versions.tf "$TREE/services/"
  for decl in services/*/service.tf; do
    svc=$(dirname "$decl")
    mkdir -p "$TREE/$svc"
    cp "$svc"/service.tf "$svc"/env-schema.json "$TREE/$svc/" 2>/dev/null || cp "$svc"/service.tf "$TREE/$svc/"
  done
  for env in staging prod tenants; do
    cp "$TREE/envs/$env/local_override.tf.example" "$TREE/envs/$env/local_override.tf"
  done
fi

# Secrets are put by operators before an environment's first apply.
if [[ ! -f "$ROOT/.pivot/demo/secrets-put" ]]; then
  pivotctl local put-secret /staging/friend/JWT_HS256_SECRET --account "$STAGING" >/dev/null
  pivotctl local put-secret /prod/friend/JWT_HS256_SECRET --account "$PROD" >/dev/null
  touch "$ROOT/.pivot/demo/secrets-put"
fi

tf() { # tf <env> <terraform args...>
  local env=$1; shift
  terraform -chdir="$TREE/envs/$env" "$@"
}
staging_env() {
  env NATS_URL="$NATS_URL" NATS_USER="$NATS_USER" NATS_PASSWORD="$NATS_PASSWORD" TF_VAR_deployer_role_arn="$(role $STAGING)" TF_VAR_image_registry="$REGISTRY" \
    TF_VAR_nats_url="$NATS_URL" TF_VAR_nats_user="$NATS_USER" TF_VAR_nats_password="$NATS_PASSWORD" TF_VAR_database="{ ssl_mode = \"disable\", endpoint_override = { writer = \"$PG_ENDPOINT\" } }" "$@"
}
# Production differs from staging in inputs only: a reader instance, and
# two tasks of friend (the local ECS runtime runs both).
prod_env() {
  env NATS_URL="$PIVOT_LOCAL_NATS_PROD_URL" NATS_USER="$NATS_USER" NATS_PASSWORD="$PIVOT_LOCAL_NATS_PROD_PASSWORD" \
    TF_VAR_deployer_role_arn="$(role $PROD)" TF_VAR_staging_release_reader_role_arn="$(role $STAGING)" \
    TF_VAR_image_registry="$REGISTRY" TF_VAR_nats_url="$PIVOT_LOCAL_NATS_PROD_URL" \
    TF_VAR_nats_user="$NATS_USER" TF_VAR_nats_password="$PIVOT_LOCAL_NATS_PROD_PASSWORD" TF_VAR_desired_counts='{ friend = 2 }' \
    TF_VAR_database="{ ssl_mode = \"disable\", reader_count = 1, endpoint_override = { writer = \"$PG_ENDPOINT\" } }" \
    "$@"
}
# A tenant is given what production is, in its own account: the same
# database settings (its own cluster, which locally is the same PostgreSQL),
# its NATS password (operator-supplied, like its secrets) and the path this
# workspace reaches its NATS by (on the local stack, a port the ECS runtime
# publishes on the host).
tenants_env() {
  env TF_VAR_deployer_role_arn="$(role $PROD)" TF_VAR_image_registry="$REGISTRY" \
    TF_VAR_database="{ ssl_mode = \"disable\", endpoint_override = { writer = \"$PG_ENDPOINT\" } }" \
    TF_VAR_tenant_nats_passwords="{ acme = \"$ACME_NATS_PASSWORD\" }" \
    TF_VAR_tenant_jetstream_urls="{ acme = \"nats://$ACME_NATS\" }" "$@"
}
# The tenant's operator-supplied NATS password, kept with the demo's state.
if [[ ! -f "$ROOT/.pivot/demo/acme-nats-password" ]]; then
  python3 -c 'import secrets; print(secrets.token_hex(16))' >"$ROOT/.pivot/demo/acme-nats-password"
fi
ACME_NATS_PASSWORD=$(cat "$ROOT/.pivot/demo/acme-nats-password")
ACME_NATS=$(pivotctl local publish "$TENANT" acme nats 4222)
apply() { # apply <env> <env-wrapper>
  local env=$1 wrap=$2
  # The provider is rebuilt from source, so its checksum changes: start
  # from a fresh lock rather than one recorded for an older build.
  rm -rf "$TREE/envs/$env/.terraform.lock.hcl" "$TREE/envs/$env/.terraform/providers"
  $wrap terraform -chdir="$TREE/envs/$env" init -input=false >/dev/null
  $wrap terraform -chdir="$TREE/envs/$env" apply -auto-approve -input=false -compact-warnings
}

step "2. staging (account $STAGING) at the declared tags"
apply staging staging_env
pivotctl local probe "$STAGING" staging

step "3. CI bumps messenger to $DEMO_SHA and staging applies it"
pivotctl image bump messenger "$DEMO_SHA" --repo "$TREE"
apply staging staging_env

step "4. promote: prod (account $PROD) deploys staging's release"
apply prod prod_env
pivotctl local probe "$PROD" prod

step "5. a tenant: pivotctl tenant add acme (account $TENANT), then promote to tenants"
if ! pivotctl tenant list --repo "$TREE" | grep -q '^acme '; then
  pivotctl tenant add acme --account-id "$TENANT" --region us-east-1 --repo "$TREE" | sed -n 1p
  # The tenant's operator stores its secrets first, as for any environment
  # (`pivotctl tenant add` lists them); its databases it makes itself.
  pivotctl local put-secret /acme/friend/JWT_HS256_SECRET --account "$TENANT" >/dev/null
fi
apply tenants tenants_env
pivotctl local probe "$TENANT" acme

step "converged? (every root plans no changes)"
for pair in staging:staging_env prod:prod_env tenants:tenants_env; do
  env=${pair%%:*} wrap=${pair#*:}
  set +e
  $wrap terraform -chdir="$TREE/envs/$env" plan -detailed-exitcode -input=false >/tmp/pivot-demo-plan.txt 2>&1
  rc=$?
  set -e
  case $rc in
    0) echo "$env: no changes" ;;
    *) cat /tmp/pivot-demo-plan.txt; echo "demo: $env does not converge (plan exit $rc)" >&2; exit 1 ;;
  esac
done

step "6. what runs where"
pivotctl local status | sed -n '/^ACCOUNT/,$p'
echo
# The operator's view of one service, as `copilot svc status` gave it.
pivotctl svc status staging messenger --role-arn "$(role $STAGING)"
echo
for env in staging prod; do
  echo "messenger's own bucket ($env): $(tf "$env" output -json services | python3 -c 'import json,sys; print(json.load(sys.stdin)["messenger"]["bucket_name"])')"
done
echo
pivotctl release show --name staging --role-arn "$(role $STAGING)" --repo "$TREE"
echo
pivotctl release show --name prod --role-arn "$(role $PROD)" --tenants --repo "$TREE"

cat <<MSG

The demo's Terraform tree is $TREE (state in each envs/<env>/terraform.tfstate).
Tear it all down with:  make demo-down
MSG
