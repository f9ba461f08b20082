locals {
  declaration = var.declaration
  environment = var.environment
  # The environment's account, when it is not the provider's (a tenant's).
  target = local.environment.target == null ? [] : [local.environment.target]

  create_database = var.create && local.declaration.database
  create_bucket   = var.create && local.declaration.bucket
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
  # A service with a bucket learns its name, as Copilot's storage did.
  bucket_env = local.create_bucket ? { BUCKET_NAME = local.bucket_name } : {}
  env        = merge(local.platform_env, local.bucket_env, local.declaration.env, var.env)

  # DATABASE_URL and DATABASE_READER_URL come from the database's own
  # parameters. Taking their names from the database resource keeps them
  # unknown until it exists, so the plan does not look for them too early.
  database_secrets = local.create_database ? [
    basename(pivot_service_database.this[0].writer_url_parameter),
    basename(pivot_service_database.this[0].reader_url_parameter),
  ] : []

  # Bucket names are global: the account ID keeps environments and
  # accounts apart unless bucket_name says otherwise.
  bucket_name = !local.create_bucket ? null : coalesce(var.bucket_name, "${local.environment.name}-${local.declaration.name}-${try(data.pivot_caller_identity.this[0].account_id, "")}")

  # This environment's override wins over the declaration's.
  autoscaling = var.autoscaling != null ? var.autoscaling : local.declaration.autoscaling

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
  calls            = var.declaration.calls
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

  # With autoscaling the scaler owns the count; desired_count is the start.
  autoscaling = local.autoscaling

  # The task role may use the service's own bucket (and only it).
  s3_bucket = local.bucket_name

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

################################################################################
# Bucket
################################################################################

data "pivot_caller_identity" "this" {
  count = local.create_bucket && var.bucket_name == null ? 1 : 0
}

resource "pivot_service_bucket" "this" {
  count = local.create_bucket ? 1 : 0

  name          = local.bucket_name
  environment   = local.environment.name
  service       = local.declaration.name
  task_role_arn = pivot_service.this[0].task_role_arn
  versioning    = var.bucket_versioning
  force_destroy = var.bucket_force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = length(local.bucket_name) <= 63
      error_message = "Bucket name ${local.bucket_name} is longer than S3's 63 characters: set bucket_name for service ${local.declaration.name}."
    }
  }
}
