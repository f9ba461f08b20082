################################################################################
# Account
################################################################################

variable "aws_region" {
  description = "Region of the environment. Null: `AWS_REGION` from the run's environment."
  type        = string
  default     = null
}

variable "deployer_role_arn" {
  description = "Role in the production account that Terraform assumes, `arn:aws:iam::<account>:role/<name>`. Null acts with the run's own credentials."
  type        = string
  default     = null

  validation {
    condition     = var.deployer_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.deployer_role_arn, "x")))
    error_message = "deployer_role_arn must be an IAM role ARN such as arn:aws:iam::111111111111:role/pivot-deployer."
  }
}

variable "deployer_external_id" {
  description = "External ID the deployer role's trust policy requires, if any."
  type        = string
  default     = null
  sensitive   = true
}

################################################################################
# Platform
################################################################################

variable "image_registry" {
  description = "Registry CI pushes the service images to (`<registry>/pivot/<service>:<git sha>`), e.g. `111111111111.dkr.ecr.eu-west-1.amazonaws.com`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$", var.image_registry))
    error_message = "image_registry must be a registry host with an optional path, e.g. 111111111111.dkr.ecr.eu-west-1.amazonaws.com."
  }
}

variable "nats_url" {
  description = "URL(s) of the production NATS system, comma-separated. The services get it as NATS_URL; the JetStream resources connect to it through the provider's NATS_URL."
  type        = string
}

variable "nats_user" {
  description = "NATS user of the services, if the system requires one."
  type        = string
  default     = null
}

variable "nats_password" {
  description = "Password of `nats_user`."
  type        = string
  default     = null
  sensitive   = true
}

variable "public_zone" {
  description = "Cloudflare zone of the public hostnames; production publishes on `<service>.<zone>`."
  type        = string
  default     = "pivot.app"
}

variable "certificate_arn" {
  description = "ACM certificate of the load balancer's HTTPS listener. Null serves HTTP (Cloudflare's proxy in Flexible mode, or the local stack)."
  type        = string
  default     = null
}

################################################################################
# Sizing
################################################################################

variable "database" {
  description = "The Aurora cluster: instance class, readers, and on the local stack `endpoint_override` (the local PostgreSQL) with `ssl_mode = \"disable\"`."
  type = object({
    instance_class            = optional(string, "db.r6g.large")
    reader_count              = optional(number, 1)
    deletion_protection       = optional(bool, true)
    global_cluster_identifier = optional(string)
    ssl_mode                  = optional(string, "require")
    endpoint_override = optional(object({
      writer = string
      reader = optional(string)
    }))
  })
  default = {}
}

variable "staging_release_reader_role_arn" {
  description = "Role in the staging account allowed to read the release record staging writes (`/pivot/releases/staging`). Null reads with the provider's own credentials (staging and production in one account)."
  type        = string
  default     = null

  validation {
    condition     = var.staging_release_reader_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.staging_release_reader_role_arn, "x")))
    error_message = "staging_release_reader_role_arn must be an IAM role ARN such as arn:aws:iam::111111111111:role/pivot-release-reader."
  }
}

variable "desired_counts" {
  description = "Tasks per service where production differs from the declaration, by service name."
  type        = map(number)
  default     = {}
}

variable "service_env" {
  description = "Environment variables per service that only production sets, by service name (never secrets)."
  type        = map(map(string))
  default     = {}
}

variable "registry" {
  description = "The ECR registry account, to manage each service's repository there (`pivot_service_repository`: scan on push, immutable tags, a lifecycle policy keeping every tag staging's and production's releases name, pull for `pull_account_ids`, e.g. staging's and production's accounts). Null leaves the repositories alone (the local stack's registry is not ECR)."
  type = object({
    role_arn         = string
    external_id      = optional(string)
    region           = optional(string)
    pull_account_ids = list(string)
    keep_last        = optional(number, 30)
  })
  default = null
}
