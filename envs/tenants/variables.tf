################################################################################
# Account
################################################################################

variable "aws_region" {
  description = "Default region. Null: `AWS_REGION` from the run's environment. Each tenant's entry names its own region."
  type        = string
  default     = null
}

variable "deployer_role_arn" {
  description = "Role in the production account that Terraform assumes to read the release record. Null acts with the run's own credentials."
  type        = string
  default     = null

  validation {
    condition     = var.deployer_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.deployer_role_arn, "x")))
    error_message = "deployer_role_arn must be an IAM role ARN such as arn:aws:iam::111111111111:role/pivot-deployer."
  }
}

variable "deployer_external_id" {
  description = "External ID the production deployer role's trust policy requires, if any."
  type        = string
  default     = null
  sensitive   = true
}

################################################################################
# Tenants
################################################################################

variable "tenant_role_name" {
  description = "Name of the role every tenant creates in its account for the platform to deploy through (`arn:aws:iam::<tenant account>:role/<name>`)."
  type        = string
  default     = "pivot-deployer"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.tenant_role_name))
    error_message = "tenant_role_name must be an IAM role name: 1 to 64 letters, digits and +=,.@_-."
  }
}

variable "tenant_external_ids" {
  description = "External ID of each tenant's role trust policy, by tenant name. Keep them in the workspace as a sensitive variable, not in git."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "image_registry" {
  description = "Registry the service images are pulled from (`<registry>/pivot/<service>:<git sha>`); tenants' roles must be allowed to pull from it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$", var.image_registry))
    error_message = "image_registry must be a registry host with an optional path, e.g. 111111111111.dkr.ecr.eu-west-1.amazonaws.com."
  }
}

variable "registry_role_arn" {
  description = "Role in the registry's account (the one in `image_registry`) allowed to set its repositories' policies (ecr:GetRepositoryPolicy, ecr:SetRepositoryPolicy, ecr:DeleteRepositoryPolicy). Null acts with the provider's own credentials. Unused when the registry is not ECR."
  type        = string
  default     = null

  validation {
    condition     = var.registry_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.registry_role_arn, "x")))
    error_message = "registry_role_arn must be an IAM role ARN such as arn:aws:iam::111111111111:role/pivot-registry-admin."
  }
}

variable "prod_release_reader_role_arn" {
  description = "Role in the production account allowed to read the release record \"prod\". Null reads with the provider's own credentials."
  type        = string
  default     = null

  validation {
    condition     = var.prod_release_reader_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.prod_release_reader_role_arn, "x")))
    error_message = "prod_release_reader_role_arn must be an IAM role ARN such as arn:aws:iam::111111111111:role/pivot-release-reader."
  }
}

variable "service_env" {
  description = "Environment variables per service that tenants set, by service name (never secrets). STAGE (the tenant's name) and NATS_URL (the tenant's managed NATS) are set for every service."
  type        = map(map(string))
  default     = {}
}

variable "public_zone" {
  description = "Cloudflare zone of the platform's public hostnames; a tenant publishes on `<service>.<tenant>.<zone>` unless its `domain` says otherwise."
  type        = string
  default     = "pivot.app"
}

variable "database" {
  description = "Every tenant's Aurora cluster (as production's `database`): instance class, readers, and on the local stack `endpoint_override` with `ssl_mode = \"disable\"`. `deletion_protection` comes from the tenant's entry."
  type = object({
    instance_class = optional(string, "db.r6g.large")
    reader_count   = optional(number, 1)
    ssl_mode       = optional(string, "require")
    endpoint_override = optional(object({
      writer = string
      reader = optional(string)
    }))
  })
  default = {}
}

variable "tenant_nats_passwords" {
  description = "Password of each tenant's NATS platform user, by tenant name (at least 16 characters). Operator-supplied: keep it in the workspace as a sensitive variable. The plan refuses a tenant without one."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "tenant_jetstream_urls" {
  description = "Where this workspace reaches each tenant's NATS to manage its streams and consumers, by tenant name; overrides the entry's `jetstream_url`. The NATS runs in the tenant's network (Service Connect name `nats`)."
  type        = map(string)
  default     = {}
}

variable "tenant_certificate_arns" {
  description = "ACM certificate of each tenant's load balancer (in the tenant's account), by tenant name; without one the load balancer serves HTTP behind Cloudflare's proxy."
  type        = map(string)
  default     = {}
}
