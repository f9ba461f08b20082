# Tenants: every tenant runs exactly the image set production runs (the
# release record "prod"), in its own AWS account, through its own role.
# Adding a tenant is one entry in tenants.tf.

locals {
  declarations = module.services.declarations
  release      = data.pivot_release.prod.images

  # Services production runs; a service added since reaches the tenants with
  # production's next release.
  promoted = { for name, d in local.declarations : name => d if contains(keys(local.release), name) }

  # The declarations in the shape pivot_tenant_deployment takes. A tenant's
  # NATS runs in its account (managed_nats), reached as nats:4222 through
  # Service Connect. Services with a database read DATABASE_URL from the
  # tenant's Parameter Store, put there at onboarding (see README.md).
  services = { for name, d in local.promoted : name => {
    image_repository     = "${trimsuffix(var.image_registry, "/")}/${d.image_repository}"
    cpu                  = d.cpu
    memory               = d.memory
    desired_count        = d.desired_count
    ports                = [for p in d.ports : { name = p.name, container_port = p.container_port, protocol = p.protocol }]
    env                  = merge({ NATS_URL = "nats://nats:4222" }, d.env, lookup(var.service_env, name, {}))
    secrets              = concat(d.secrets, d.database ? ["DATABASE_URL"] : [])
    health_check_path    = "/health"
    health_check_command = try(d.health_check_command, null)
    env_schema_json      = try(d.env_schema_json, null)
    required_env         = try(d.required_env, null)
  } }

  # The registry's account and region when it is ECR (null otherwise: the
  # local stack's registry lets anyone pull).
  registry_ecr = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com", var.image_registry), null)
}

################################################################################
# Services catalog and the release to deploy
################################################################################

module "services" {
  source = "../../services"
}

data "pivot_release" "prod" {
  name = "prod"

  target {
    role_arn = var.prod_release_reader_role_arn
  }
}

################################################################################
# Registry access
################################################################################

# Every tenant account may pull the services' images: one statement in each
# repository's policy, naming exactly the accounts in tenants.tf, so adding
# a tenant grants it in the same reviewed change. (The tenants' execution
# roles allow the pull on their side.)
resource "pivot_registry_access" "tenants" {
  count = local.manage_registry && local.registry_ecr != null && length(local.services) > 0 ? 1 : 0

  repositories = sort([for s in local.services : replace(s.image_repository, "/^[^/]+\\//", "")])
  account_ids  = sort(distinct([for t in local.tenants : t.account_id]))

  target {
    role_arn = var.registry_role_arn
    region   = local.registry_ecr[1]
  }
}

################################################################################
# Tenant deployments
################################################################################

resource "pivot_tenant_deployment" "this" {
  for_each = local.selected_tenants

  name                = each.key
  role_arn            = "arn:aws:iam::${each.value.account_id}:role/${var.tenant_role_name}"
  external_id         = lookup(var.tenant_external_ids, each.key, null)
  region              = each.value.region
  deletion_protection = try(each.value.deletion_protection, true)
  managed_nats        = true

  services = { for name, s in local.services : name => merge(s, {
    env = merge(s.env, { STAGE = each.key })
  }) }
  images = { for name, tag in local.release : name => tag if contains(keys(local.services), name) }

  # A tenant's tasks cannot pull before the registry grants its account.
  depends_on = [pivot_registry_access.tenants]
}
