# Who does the provider act as, after assume_role?
data "pivot_caller_identity" "current" {}

# And in a tenant's account, through the tenant's role?
data "pivot_caller_identity" "acme" {
  target {
    role_arn    = "arn:aws:iam::222222222222:role/pivot-deployer"
    external_id = "acme"
  }
}

output "accounts" {
  value = [data.pivot_caller_identity.current.account_id, data.pivot_caller_identity.acme.account_id]
}
