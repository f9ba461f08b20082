# One tenant: the stack production runs, in the tenant's own AWS account,
# from the same declarations and the same modules. Every resource acts in
# the tenant's account through `target` (the tenant's deployer role), so
# the tenants root can `for_each` over tenants.tf: a provider cannot be
# configured per instance, a resource attribute can.

locals {
  target = {
    role_arn    = var.role_arn
    external_id = var.external_id
    region      = var.region
  }

  # The tenant's public hostnames: under the platform's zone
  # (friend.acme.pivot.app) unless its domain is a zone of its own.
  in_platform_zone = var.domain == var.public_zone || endswith(var.domain, ".${var.public_zone}")
  public_zone      = local.in_platform_zone ? var.public_zone : var.domain
  public_subdomain = local.in_platform_zone && var.domain != var.public_zone ? trimsuffix(var.domain, ".${var.public_zone}") : null

  streams = merge([for name, d in var.declarations : {
    for s in d.streams : s.name => merge(s, { owner = name })
  }]...)
  consumers = merge([for name, d in var.declarations : {
    for c in d.consumers : "${c.stream}/${c.durable_name}" => c
  }]...)
}

################################################################################
# Environment
################################################################################

module "environment" {
  source = "../../../modules/environment"

  name   = var.name
  stage  = var.name
  target = local.target

  # Its own network, NATS, database and load balancer.
  create_vpc = true
  vpc        = var.vpc

  nats = {
    managed = true
  }
  nats_password = var.nats_password
  jetstream_url = var.jetstream_url
  streams       = local.streams
  consumers     = local.consumers

  create_database = true
  database        = merge(var.database, { deletion_protection = var.deletion_protection })

  create_ingress   = true
  ingress          = { certificate_arn = var.certificate_arn }
  public_zone      = local.public_zone
  public_subdomain = local.public_subdomain
}

################################################################################
# Services
################################################################################

module "service" {
  source   = "../../../modules/service"
  for_each = var.declarations

  declaration    = each.value
  image_tag      = var.images[each.key]
  environment    = module.environment.service_context
  image_registry = var.image_registry
  env            = lookup(var.service_env, each.key, {})

  # Streams and consumers exist before the services that use them start.
  depends_on = [module.environment]
}
