# Staging: every service at the image tag its declaration pins (what CI
# bumped last), then the release record "staging" once they all run steady.
# Production deploys that record, never the declarations' tags.

locals {
  environment  = "staging"
  declarations = module.services.declarations

  # Streams and consumers each service declares, owned by the declaring
  # service.
  streams = merge([for name, d in local.declarations : {
    for s in d.streams : s.name => merge(s, { owner = name })
  }]...)
  consumers = merge([for name, d in local.declarations : {
    for c in d.consumers : "${c.stream}/${c.durable_name}" => c
  }]...)
}

################################################################################
# Services catalog
################################################################################

module "services" {
  source = "../../services"
}

################################################################################
# Environment
################################################################################

module "environment" {
  source = "../../modules/environment"

  name  = local.environment
  stage = "staging"

  nats = {
    url  = var.nats_url
    user = var.nats_user
  }
  nats_password = var.nats_password
  streams       = local.streams
  consumers     = local.consumers

  create_database = true
  database        = var.database

  create_ingress   = true
  ingress          = { certificate_arn = var.certificate_arn }
  public_zone      = var.public_zone
  public_subdomain = local.environment
}

################################################################################
# Services
################################################################################

module "service" {
  source   = "../../modules/service"
  for_each = local.declarations

  declaration    = each.value
  environment    = module.environment.service_context
  image_registry = var.image_registry
  desired_count  = lookup(var.desired_counts, each.key, null)
  env            = lookup(var.service_env, each.key, {})

  # Streams and consumers exist before the services that use them start.
  depends_on = [module.environment]
}

################################################################################
# Release
################################################################################

# Written only after every service reached steady state on its tag, and
# verified against the cluster again before it is written.
resource "pivot_release" "staging" {
  name           = "staging"
  images         = { for name, svc in module.service : name => svc.image_tag }
  verify_cluster = module.environment.cluster_name

  depends_on = [module.service]
}
