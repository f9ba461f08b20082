# Endpoints and credentials come from the environment: AWS_* (region,
# endpoint, keys), NATS_URL/NATS_USER/NATS_PASSWORD, CLOUDFLARE_API_TOKEN
# (and CLOUDFLARE_BASE_URL locally), PIVOT_POSTGRES_ADMIN_URL. In Terraform
# Cloud they are workspace variables; locally, .pivot/local/env.
provider "pivot" {
  aws {
    region = var.aws_region

    assume_role {
      role_arn     = var.deployer_role_arn
      external_id  = var.deployer_external_id
      session_name = "platform-prod"
    }
  }
}
