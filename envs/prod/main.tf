# Production: exactly the image set staging verified (the release record
# "staging"), never the declarations' tags; then the release record "prod",
# which the tenants deploy. Same modules as staging; only inputs differ.

locals {
  environment  = "prod"
  declarations = module.services.declarations

  # Only services staging has verified are deployed: a service added since
  # reaches production with staging's next release.
  release  = data.pivot_release.staging.images
  promoted = { for name, d in local.declarations : name => d if contains(keys(local.release), name) }

  streams = merge([for name, d in local.declarations : {
    for s in d.streams : s.name => merge(s, { owner = name })
  }]...)
  consumers = merge([for name, d in local.declarations : {
    for c in d.consumers : "${c.stream}/${c.durable_name}" => c
  }]...)
}

################################################################################
# Services catalog and the release to promote
################################################################################

module "services" {
  source = "../../services"
}

data "pivot_release" "staging" {
  name = "staging"

  target {
    role_arn = var.staging_release_reader_role_arn
  }
}

################################################################################
# Environment
################################################################################

module "environment" {
  source = "../../modules/environment"

  name  = local.environment
  stage = "production"

  nats = {
    url  = var.nats_url
    user = var.nats_user
  }
  nats_password = var.nats_password
  streams       = local.streams
  consumers     = local.consumers

  create_database = true
  database        = var.database

  create_ingress = true
  ingress        = { certificate_arn = var.certificate_arn }
  public_zone    = var.public_zone
}

################################################################################
# Services
################################################################################

module "service" {
  source   = "../../modules/service"
  for_each = local.promoted

  declaration    = each.value
  image_tag      = local.release[each.key]
  environment    = module.environment.service_context
  image_registry = var.image_registry
  desired_count  = lookup(var.desired_counts, each.key, null)
  env            = lookup(var.service_env, each.key, {})

  depends_on = [module.environment]
}

################################################################################
# Release
################################################################################

resource "pivot_release" "prod" {
  name           = "prod"
  images         = { for name, svc in module.service : name => svc.image_tag }
  source         = "staging@${data.pivot_release.staging.version}"
  verify_cluster = module.environment.cluster_name

  depends_on = [module.service]
}

################################################################################
# Service repositories
################################################################################

# Each service's ECR repository, in the registry account, when `registry`
# is set. It lives here because this root reads staging's release and
# writes production's (which the tenants run): together the tags every
# environment may still deploy, which the lifecycle policy never expires.
resource "pivot_service_repository" "this" {
  for_each = { for name, d in local.declarations : name => d.image_repository if var.registry != null }

  name             = each.value
  service          = each.key
  keep_tags        = compact([lookup(local.release, each.key, ""), lookup(pivot_release.prod.images, each.key, "")])
  keep_last        = var.registry.keep_last
  pull_account_ids = var.registry.pull_account_ids

  target {
    role_arn    = var.registry.role_arn
    external_id = var.registry.external_id
    region      = var.registry.region
  }
}
