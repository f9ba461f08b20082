locals {
  declaration = var.declaration
  environment = var.environment
  # The environment's account, when it is not the provider's (a tenant's).
  target = local.environment.target == null ? [] : [local.environment.target]

  create_database = var.create && local.declaration.database
  create_endpoint = var.create && local.declaration.public_hostname != null

  image_tag        = coalesce(var.image_tag, local.declaration.image_tag)
  image_repository = var.image_registry == null ? local.declaration.image_repository : "${trimsuffix(var.image_registry, "/")}/${local.declaration.image_repository}"

  # What the platform decides, then the service's own settings, then this
  # environment's overrides. NATS_PASSWORD is not among them: it is the
  # SecureString /<environment>/_platform/NATS_PASSWORD, passed as a
  # platform secret to the services that use NATS.
  platform_secrets = local.environment.nats_password_secret != null && contains(keys(local.env), "NATS_URL") ? [local.environment.nats_password_secret] : []
  platform_env = { for k, v in {
    STAGE     = local.environment.stage
    NATS_URL  = local.environment.nats_url
    NATS_USER = local.environment.nats_user
  } : k => v if v != null }
  env = merge(local.platform_env, local.declaration.env, var.env)

  # DATABASE_URL and DATABASE_READER_URL come from the database's own
  # parameters. Taking their names from the database resource keeps them
  # unknown until it exists, so the plan does not look for them too early.
  database_secrets = local.create_database ? [
    basename(pivot_service_database.this[0].writer_url_parameter),
    basename(pivot_service_database.this[0].reader_url_parameter),
  ] : []

  public_hostname = local.declaration.public_hostname == null ? null : join(".", compact([
    local.declaration.public_hostname,
    local.environment.public_subdomain,
    local.environment.public_zone,
  ]))
}

################################################################################
# Service
################################################################################

resource "pivot_service" "this" {
  count = var.create ? 1 : 0

  name                      = local.declaration.name
  environment               = local.environment.name
  cluster                   = local.environment.cluster
  service_connect_namespace = local.environment.namespace
  # A public service's tasks register in its endpoint's target group.
  target_group_arn = try(pivot_public_endpoint.this[0].target_group_arn, null)

  image {
    repository = local.image_repository
    tag        = local.image_tag
  }

  cpu           = coalesce(var.cpu, local.declaration.cpu)
  memory        = coalesce(var.memory, local.declaration.memory)
  desired_count = coalesce(var.desired_count, local.declaration.desired_count)
  ports         = local.declaration.ports

  env              = local.env
  secrets          = concat(local.declaration.secrets, local.database_secrets)
  platform_secrets = local.platform_secrets
  env_schema_json  = local.declaration.env_schema_json
  required_env     = local.declaration.required_env

  # An image without curl checks itself with its own command.
  health_check = {
    path    = local.declaration.health_check_path
    command = local.declaration.health_check_command
  }

  tracing = local.environment.otlp_endpoint == null ? null : {
    otlp_endpoint = local.environment.otlp_endpoint
  }

  deployment = {
    timeout = var.deployment_timeout
  }

  network = {
    subnets          = local.environment.subnet_ids
    security_groups  = local.environment.security_group_ids
    assign_public_ip = local.environment.assign_public_ip
  }

  tags = var.tags

  dynamic "target" {
    for_each = local.target
    content {
      role_arn    = target.value.role_arn
      external_id = target.value.external_id
      region      = target.value.region
    }
  }
}

################################################################################
# Database
################################################################################

resource "pivot_service_database" "this" {
  count = local.create_database ? 1 : 0

  environment      = local.environment.name
  service          = local.declaration.name
  writer_endpoint  = local.environment.database_writer
  reader_endpoint  = local.environment.database_reader
  ssl_mode         = local.environment.database_ssl_mode
  rotation_trigger = var.database_rotation_trigger

  dynamic "target" {
    for_each = local.target
    content {
      role_arn    = target.value.role_arn
      external_id = target.value.external_id
      region      = target.value.region
    }
  }

  lifecycle {
    precondition {
      condition     = local.environment.database_writer != null
      error_message = "Service ${local.declaration.name} declares database = true, but environment ${local.environment.name} has no database: set create_database = true in modules/environment."
    }
  }
}

################################################################################
# Public endpoint
################################################################################

resource "pivot_public_endpoint" "this" {
  count = local.create_endpoint ? 1 : 0

  environment       = local.environment.name
  service           = local.declaration.name
  zone              = local.environment.public_zone
  hostname          = local.public_hostname
  port              = local.declaration.ports[0].container_port
  health_check_path = local.declaration.health_check_path

  dynamic "target" {
    for_each = local.target
    content {
      role_arn    = target.value.role_arn
      external_id = target.value.external_id
      region      = target.value.region
    }
  }

  lifecycle {
    precondition {
      condition     = local.environment.ingress && local.environment.public_zone != null
      error_message = "Service ${local.declaration.name} declares public_hostname, but environment ${local.environment.name} has no ingress: set create_ingress = true and public_zone in modules/environment."
    }
  }
}
