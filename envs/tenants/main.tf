# Tenants: every tenant runs exactly the image set production runs (the
# release record "prod"), in its own AWS account, through its own role, with
# what production has: its own VPC, Aurora with a database and login role
# per service, NATS with credentials and the declared streams and
# consumers, the collector, log routing, public endpoints under its domain.
# Adding a tenant is one entry in tenants.tf.

locals {
  declarations = module.services.declarations
  release      = data.pivot_release.prod.images

  # Services production runs; a service added since reaches the tenants with
  # production's next release.
  promoted = { for name, d in local.declarations : name => d if contains(keys(local.release), name) }


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
  count = local.manage_registry && local.registry_ecr != null && length(local.promoted) > 0 ? 1 : 0

  repositories = sort([for d in local.promoted : d.image_repository])
  account_ids  = sort(distinct([for t in local.tenants : t.account_id]))

  target {
    role_arn = var.registry_role_arn
    region   = local.registry_ecr[1]
  }
}

################################################################################
# Tenants
################################################################################

# Each tenant is envs/tenants/tenant: modules/environment and
# modules/service, the modules staging and production run, acting in the
# tenant's account. Tenants are data: one entry in tenants.tf. A tenant's
# own workspace runs only its tenant (selection.tf).
module "tenant" {
  source   = "./tenant"
  for_each = local.selected_tenants

  name                = each.key
  role_arn            = "arn:aws:iam::${each.value.account_id}:role/${var.tenant_role_name}"
  external_id         = lookup(var.tenant_external_ids, each.key, null)
  region              = each.value.region
  domain              = try(each.value.domain, "${each.key}.${var.public_zone}")
  deletion_protection = try(each.value.deletion_protection, true)

  declarations    = local.promoted
  images          = { for name, tag in local.release : name => tag if contains(keys(local.promoted), name) }
  image_registry  = var.image_registry
  service_env     = var.service_env
  public_zone     = var.public_zone
  certificate_arn = lookup(var.tenant_certificate_arns, each.key, null)
  database        = var.database

  # Operator-supplied, listed by `pivotctl tenant add` and refused at plan
  # while missing (the tenant module's validations).
  nats_password = lookup(var.tenant_nats_passwords, each.key, "")
  jetstream_url = lookup(var.tenant_jetstream_urls, each.key, try(each.value.jetstream_url, ""))

  # A tenant's tasks cannot pull before the registry grants its account.
  depends_on = [pivot_registry_access.tenants]
}

################################################################################
# Moved from pivot_tenant_deployment
################################################################################

# Tenants used to be pivot_tenant_deployment resources with a schema of their
# own. Their objects are adopted by the modules above (every create finds
# its own objects first); the old resources leave the state without
# destroying anything.
removed {
  from = pivot_tenant_deployment.this

  lifecycle {
    destroy = false
  }
}
