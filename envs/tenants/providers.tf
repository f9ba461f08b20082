# The provider acts in the production account, where the release record
# "prod" is; each tenant's deployment assumes the tenant's own role (an
# attribute of pivot_tenant_deployment, so tenants are data). Credentials come
# from the environment: AWS_* in Terraform Cloud, .pivot/local/env locally.
provider "pivot" {
  aws {
    region = var.aws_region

    assume_role {
      role_arn     = var.deployer_role_arn
      external_id  = var.deployer_external_id
      session_name = "platform-tenants"
    }
  }
}
