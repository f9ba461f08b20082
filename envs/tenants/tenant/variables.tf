################################################################################
# Tenant
################################################################################

variable "name" {
  description = "The tenant's name: its environment (cluster, Parameter Store root `/<name>/`, `STAGE`)."
  type        = string
}

variable "role_arn" {
  description = "The role in the tenant's account every resource acts through."
  type        = string
}

variable "external_id" {
  description = "External ID of the role's trust policy."
  type        = string
  default     = null
  sensitive   = true
}

variable "region" {
  description = "The tenant's region."
  type        = string
}

variable "domain" {
  description = "The tenant's public domain: `<name>.<public_zone>` or a Cloudflare zone of its own."
  type        = string
}

variable "deletion_protection" {
  description = "Protects the tenant's database from deletion."
  type        = bool
  default     = true
}

################################################################################
# Platform
################################################################################

variable "declarations" {
  description = "The services to run: `module.services.declarations` limited to the release."
  type        = any
}

variable "images" {
  description = "The release: the image tag of every service."
  type        = map(string)
}

variable "image_registry" {
  description = "Registry of the service images."
  type        = string
}

variable "service_env" {
  description = "Environment variables per service that tenants set, by service name (never secrets)."
  type        = map(map(string))
  default     = {}
}

variable "public_zone" {
  description = "The platform's Cloudflare zone."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the tenant's load balancer (in the tenant's account); null serves HTTP."
  type        = string
  default     = null
}

variable "vpc" {
  description = "The tenant's network: `cidr` and `zones`."
  type = object({
    cidr  = optional(string, "10.0.0.0/16")
    zones = optional(number, 2)
  })
  default = {}
}

variable "database" {
  description = "The tenant's Aurora cluster (same settings as production's)."
  type        = any
  default     = {}
}

variable "nats_password" {
  description = "Password of the platform user (`pivot`) of the tenant's NATS."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.nats_password) >= 16
    error_message = "The tenant's NATS password is missing or shorter than 16 characters: set tenant_nats_passwords[\"<tenant>\"] in the workspace (a sensitive variable), as `pivotctl tenant add` lists."
  }
}

variable "jetstream_url" {
  description = "Where Terraform reaches the tenant's NATS to manage its streams and consumers (the NATS runs in the tenant's network)."
  type        = string

  validation {
    condition     = can(regex("^(nats|tls|ws|wss)://[^\\s/]+$", var.jetstream_url))
    error_message = "The tenant's JetStream URL is missing: set jetstream_url in its tenants.tf entry, or tenant_jetstream_urls[\"<tenant>\"] in the workspace, to where this workspace reaches the tenant's NATS (nats://host:4222)."
  }
}
