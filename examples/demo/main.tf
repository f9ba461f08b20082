# The demo root configuration: what `make demo` applies to the local
# platform stack. It grows as resources land.

terraform {
  required_version = ">= 1.8.0"
  required_providers {
    pivot = {
      source  = "pivotapp/pivot"
      version = ">= 0.1.0"
    }
  }
}

# Endpoints and credentials come from the local stack's env file
# (AWS_ENDPOINT_URL, NATS_URL, CLOUDFLARE_BASE_URL, ...).
provider "pivot" {}

################################################################################
# Identity
################################################################################

data "pivot_caller_identity" "this" {}

output "aws_account_id" {
  description = "The AWS account the demo acts in."
  value       = data.pivot_caller_identity.this.account_id
}

output "aws_caller_arn" {
  description = "The principal the demo acts as."
  value       = data.pivot_caller_identity.this.arn
}
