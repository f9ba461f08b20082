################################################################################
# Environment
################################################################################

variable "name" {
  description = "Environment name (`staging`, `prod`): a lowercase DNS label of at most 24 characters. It names the ECS cluster, the Service Connect namespace, the load balancer and the Parameter Store root `/<name>/`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name))
    error_message = "The name must be 2 to 24 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen, e.g. \"staging\"."
  }
}

variable "stage" {
  description = "Value of `STAGE` the services read (`staging`, `production`, a tenant name). Default: `name`."
  type        = string
  default     = null

  validation {
    condition     = var.stage == null || var.stage != "local"
    error_message = "STAGE=local turns on gRPC reflection and self-declared streams in the services; use it only outside Terraform (e.g. \"staging\")."
  }
}

variable "container_insights" {
  description = "CloudWatch Container Insights on the cluster: `enabled`, `enhanced` or `disabled`."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced", "disabled"], var.container_insights)
    error_message = "container_insights must be one of \"enabled\", \"enhanced\" or \"disabled\"."
  }
}

variable "log_retention_days" {
  description = "Retention of the environment's log group `/pivot/<name>`, in days (0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ... 3653."
  }
}

variable "target" {
  description = "The AWS account the environment lives in when it is not the provider's: a role to assume there (a tenant's `pivot-deployer`), with its external ID and region. Every resource of the environment, and of the services given its `service_context`, acts through it."
  type = object({
    role_arn    = string
    external_id = optional(string)
    region      = optional(string)
  })
  default = null

  validation {
    condition     = var.target == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", try(var.target.role_arn, "")))
    error_message = "target.role_arn must be an IAM role ARN such as arn:aws:iam::333333333333:role/pivot-deployer."
  }
}

variable "create_vpc" {
  description = "Give the environment its own network (`pivot_vpc`): private dual-stack subnets for the services with IPv6 egress through an egress-only internet gateway, public subnets for the load balancer, across `vpc.zones` availability zones. False uses `network` (or the account's default VPC)."
  type        = bool
  default     = false
}

variable "vpc" {
  description = "The network `create_vpc` makes: its IPv4 `cidr` (/16 to /24) and how many availability `zones` (2 or 3)."
  type = object({
    cidr  = optional(string, "10.0.0.0/16")
    zones = optional(number, 2)
  })
  default = {}
}

variable "network" {
  description = "Where the environment's tasks run, when it has no network of its own (`create_vpc`). Null: the account's default VPC (its default subnets, with public IPs)."
  type = object({
    subnet_ids         = optional(set(string))
    security_group_ids = optional(set(string))
    assign_public_ip   = optional(bool)
  })
  default = null
}

variable "collector" {
  description = "The OpenTelemetry collector (an ECS service reached as `otel-collector` through Service Connect). Null keeps the provider's defaults."
  type = object({
    image         = optional(string)
    config        = optional(string)
    cpu           = optional(number)
    memory        = optional(number)
    desired_count = optional(number)
  })
  default = null
}

################################################################################
# JetStream
################################################################################

variable "nats" {
  description = "NATS for the environment's services: an existing system (`url`, with `user` and `nats_password`) or `managed = true` to run JetStream in the environment (`replicas` 1 or 3)."
  type = object({
    url      = optional(string)
    user     = optional(string)
    managed  = optional(bool, false)
    replicas = optional(number)
    image    = optional(string)
    cpu      = optional(number)
    memory   = optional(number)
  })

  validation {
    condition     = var.nats.url == null || alltrue([for u in split(",", coalesce(var.nats.url, "x")) : can(regex("^(nats|tls|ws|wss)://[^\\s]+$", trimspace(u)))])
    error_message = "nats.url must be one or more comma-separated NATS URLs such as nats://nats.example.com:4222."
  }

  validation {
    condition     = var.nats.replicas == null || contains([1, 3], coalesce(var.nats.replicas, 1))
    error_message = "nats.replicas must be 1, or 3 for a JetStream cluster."
  }
}

variable "nats_password" {
  description = "Password of `nats.user` on an existing NATS system, or of the platform user of a managed one (generated in Parameter Store when null); stored as the SecureString `/<name>/_platform/NATS_PASSWORD`."
  type        = string
  default     = null
  sensitive   = true
}

variable "jetstream_url" {
  description = "Where Terraform reaches the environment's NATS to manage its streams and consumers, as the platform user (`nats.user`, or `pivot` when managed) with `nats_password`. Null: the provider's NATS connection (`NATS_URL`). A tenant's managed NATS runs in the tenant's network: give the address the tenants workspace reaches it at."
  type        = string
  default     = null
}

variable "streams" {
  description = "JetStream streams of the environment's services, by name. `owner` is the service that publishes on them (every subject must start with `<owner>.`)."
  type = map(object({
    owner            = string
    subjects         = list(string)
    description      = optional(string)
    storage          = optional(string, "file")
    duplicate_window = optional(string)
    max_age          = optional(string)
    replicas         = optional(number, 1)
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.streams) : contains(["file", "memory"], s.storage)])
    error_message = "Each stream's storage must be \"file\" or \"memory\"."
  }

  validation {
    condition     = alltrue([for s in values(var.streams) : alltrue([for subj in s.subjects : startswith(subj, "${s.owner}.")])])
    error_message = "A stream's subjects must all start with \"<owner>.\": a service publishes only its own events."
  }
}

variable "consumers" {
  description = "Durable JetStream consumers, by `<stream>/<durable_name>`."
  type = map(object({
    stream          = string
    durable_name    = string
    description     = optional(string)
    filter_subjects = optional(list(string))
    ack_policy      = optional(string, "explicit")
    ack_wait        = optional(string)
    max_deliver     = optional(number, -1)
    max_ack_pending = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for c in values(var.consumers) : contains(["explicit", "all", "none"], c.ack_policy)])
    error_message = "Each consumer's ack_policy must be \"explicit\", \"all\" or \"none\"."
  }
}

################################################################################
# Database
################################################################################

variable "create_database" {
  description = "Create the environment's Aurora PostgreSQL cluster, on which services with `database = true` get their own database."
  type        = bool
  default     = true
}

variable "database" {
  description = "The Aurora PostgreSQL cluster. It is placed in the environment's subnets (unless `db_subnet_group_name` is set) and admits the services' security groups on 5432; `security_group_ids` are added to its own group. `serverless_min_capacity`/`serverless_max_capacity` are the ACU range with `instance_class = \"db.serverless\"`. `endpoint_override` points the published endpoints at another PostgreSQL (the local platform stack); `ssl_mode` is the services' `sslmode` (`disable` on the local stack)."
  type = object({
    identifier                = optional(string)
    engine_version            = optional(string)
    instance_class            = optional(string)
    reader_count              = optional(number, 0)
    deletion_protection       = optional(bool, false)
    final_snapshot_identifier = optional(string)
    global_cluster_identifier = optional(string)
    db_subnet_group_name      = optional(string)
    security_group_ids        = optional(set(string))
    serverless_min_capacity   = optional(number)
    serverless_max_capacity   = optional(number)
    ssl_mode                  = optional(string, "require")
    endpoint_override = optional(object({
      writer = string
      reader = optional(string)
    }))
  })
  default = {}

  validation {
    condition     = var.database.reader_count >= 0 && var.database.reader_count <= 15
    error_message = "database.reader_count must be between 0 and 15."
  }

  validation {
    condition     = contains(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], var.database.ssl_mode)
    error_message = "database.ssl_mode must be a libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full."
  }
}

################################################################################
# Ingress
################################################################################

variable "create_ingress" {
  description = "Create the environment's internet-facing load balancer, on which services with a `public_hostname` are published."
  type        = bool
  default     = false
}

variable "ingress" {
  description = "Load balancer settings: an ACM `certificate_arn` for HTTPS (HTTP only without one) and public `subnet_ids` (default: the network's)."
  type = object({
    certificate_arn = optional(string)
    subnet_ids      = optional(set(string))
  })
  default = {}
}

variable "public_zone" {
  description = "Cloudflare zone of the environment's public hostnames, e.g. `pivot.app`. Required with `create_ingress`."
  type        = string
  default     = null
}

variable "public_subdomain" {
  description = "Label between a service's hostname and the zone (`staging` gives `friend.staging.pivot.app`); null publishes on the zone itself (`friend.pivot.app`)."
  type        = string
  default     = null

  validation {
    condition     = var.public_subdomain == null || can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", coalesce(var.public_subdomain, "x")))
    error_message = "public_subdomain must be one or more DNS labels, e.g. \"staging\"."
  }
}
