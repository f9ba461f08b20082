################################################################################
# Service
################################################################################

variable "create" {
  description = "Whether to create the service (and its database and public endpoint)."
  type        = bool
  default     = true
}

variable "declaration" {
  description = "The service's deployment declaration: the `declaration` output of `services/<name>/service.tf` (one entry of `module.services.declarations`)."
  type = object({
    name             = string
    image_repository = string
    image_tag        = string
    cpu              = number
    memory           = number
    desired_count    = optional(number, 1)
    ports = list(object({
      name           = string
      container_port = number
      protocol       = optional(string, "grpc")
    }))
    env     = optional(map(string), {})
    secrets = optional(list(string), [])
    # Services of the environment this one calls through Service Connect:
    # it starts only once they exist (see pivot_service's calls).
    calls    = optional(list(string), [])
    database = optional(bool, false)
    # The service's own S3 bucket (pivot_service_bucket).
    bucket = optional(bool, false)
    # Application Auto Scaling; see pivot_service's autoscaling.
    autoscaling = optional(object({
      min_capacity        = number
      max_capacity        = number
      cpu_target          = optional(number)
      memory_target       = optional(number)
      requests_per_target = optional(number)
      scale_in_cooldown   = optional(number, 300)
      scale_out_cooldown  = optional(number, 60)
      scheduled = optional(list(object({
        name         = string
        schedule     = string
        timezone     = optional(string)
        min_capacity = optional(number)
        max_capacity = optional(number)
      })))
    }))
    public_hostname      = optional(string)
    env_schema_json      = optional(string)
    required_env         = optional(list(string))
    health_check_path    = optional(string, "/health")
    health_check_command = optional(list(string))
    # Streams and consumers are created by modules/environment; they are
    # part of the declaration so that every environment gets them.
    streams   = optional(any, [])
    consumers = optional(any, [])
  })

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.declaration.name))
    error_message = "declaration.name must be 2 to 32 lowercase letters, digits and hyphens, starting with a letter."
  }

  validation {
    condition     = length(var.declaration.ports) > 0
    error_message = "declaration.ports needs at least one port: the first is the app port, checked on /health."
  }

  validation {
    condition     = alltrue([for p in var.declaration.ports : contains(["grpc", "http", "http2"], p.protocol)])
    error_message = "Each port's protocol must be \"grpc\", \"http\" or \"http2\"."
  }

  validation {
    condition     = var.declaration.public_hostname == null || can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", coalesce(var.declaration.public_hostname, "x")))
    error_message = "declaration.public_hostname is the hostname's first label (e.g. \"friend\"); the environment adds its subdomain and zone."
  }
}

variable "environment" {
  description = "The environment the service runs in: the `service_context` output of modules/environment."
  type = object({
    name          = string
    stage         = string
    cluster       = string
    namespace     = string
    otlp_endpoint = optional(string)
    nats_url      = optional(string)
    nats_user     = optional(string)
    # Name under /<environment>/_platform/ of the NATS password, if any.
    nats_password_secret = optional(string)
    subnet_ids           = set(string)
    security_group_ids   = optional(set(string))
    assign_public_ip     = optional(bool, false)
    database_writer      = optional(string)
    database_reader      = optional(string)
    database_ssl_mode    = optional(string, "require")
    ingress              = optional(bool, false)
    public_zone          = optional(string)
    public_subdomain     = optional(string)
    target = optional(object({
      role_arn    = string
      external_id = optional(string)
      region      = optional(string)
    }))
  })
}

variable "image_tag" {
  description = "Image tag to run instead of the declaration's: production and tenants pass the tag of the release staging verified. Null runs `declaration.image_tag` (staging)."
  type        = string
  default     = null

  validation {
    condition     = var.image_tag == null || can(regex("^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64})$", coalesce(var.image_tag, "x")))
    error_message = "image_tag must be an image tag (letters, digits, _ . -, at most 128) or a sha256: digest."
  }
}

variable "image_registry" {
  description = "Registry the declaration's `image_repository` lives in, e.g. `111111111111.dkr.ecr.eu-west-1.amazonaws.com`. Null uses the repository as written."
  type        = string
  default     = null
}

################################################################################
# Per-environment sizing
################################################################################

variable "desired_count" {
  description = "Tasks to run; null keeps the declaration's."
  type        = number
  default     = null

  validation {
    condition     = var.desired_count == null || coalesce(var.desired_count, 0) >= 0
    error_message = "desired_count must be 0 or more."
  }
}

variable "autoscaling" {
  description = "Autoscaling in this environment instead of the declaration's (`pivot_service`'s `autoscaling`: min and max tasks, `cpu_target`, `memory_target`, `requests_per_target`, cooldowns in seconds, `scheduled` actions). Null keeps the declaration's."
  type = object({
    min_capacity        = number
    max_capacity        = number
    cpu_target          = optional(number)
    memory_target       = optional(number)
    requests_per_target = optional(number)
    scale_in_cooldown   = optional(number, 300)
    scale_out_cooldown  = optional(number, 60)
    scheduled = optional(list(object({
      name         = string
      schedule     = string
      timezone     = optional(string)
      min_capacity = optional(number)
      max_capacity = optional(number)
    })))
  })
  default = null

  validation {
    condition     = var.autoscaling == null || try(var.autoscaling.min_capacity <= var.autoscaling.max_capacity, true)
    error_message = "autoscaling.min_capacity must not be greater than autoscaling.max_capacity."
  }
}

variable "cpu" {
  description = "Task CPU units; null keeps the declaration's. With `memory`, one of Fargate's task sizes."
  type        = number
  default     = null

  validation {
    condition     = var.cpu == null || contains([256, 512, 1024, 2048, 4096, 8192, 16384], coalesce(var.cpu, 256))
    error_message = "cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB; null keeps the declaration's."
  type        = number
  default     = null
}

variable "env" {
  description = "Environment variables added to (and winning over) the declaration's `env` in this environment. Never secrets."
  type        = map(string)
  default     = {}
}

################################################################################
# Deployment
################################################################################

variable "deployment_timeout" {
  description = "Longest wait for steady state, a Go duration between 10s and 3h."
  type        = string
  default     = "10m"

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.deployment_timeout)) && var.deployment_timeout != ""
    error_message = "deployment_timeout must be a duration such as \"10m\" or \"1h30m\"."
  }
}

variable "database_rotation_trigger" {
  description = "Any value; changing it rotates the service's database password in place."
  type        = string
  default     = null
}

################################################################################
# Bucket
################################################################################

variable "bucket_name" {
  description = "Name of the service's bucket when the declaration sets `bucket = true`. Null: `<environment>-<service>-<account ID>`."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.bucket_name, "xxx")))
    error_message = "bucket_name must be 3 to 63 lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit."
  }
}

variable "bucket_versioning" {
  description = "Keep every version of the bucket's objects."
  type        = bool
  default     = false
}

variable "bucket_force_destroy" {
  description = "Delete the bucket's objects when the service is destroyed (otherwise a bucket holding objects is kept and the destroy fails)."
  type        = bool
  default     = false
}

################################################################################
# Tags
################################################################################

variable "tags" {
  description = "Tags for the service, its task definition, roles and log group."
  type        = map(string)
  default     = {}
}
