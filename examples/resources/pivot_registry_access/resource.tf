# envs/tenants: every tenant account in tenants.tf may pull the services'
# images from the company's ECR registry.
resource "pivot_registry_access" "tenants" {
  repositories = ["pivot/friend", "pivot/messenger", "pivot/notifier"]
  account_ids  = [for t in local.tenants : t.account_id]

  target {
    role_arn = "arn:aws:iam::111111111111:role/pivot-registry-admin"
    region   = "eu-west-1"
  }
}
