output "release" {
  description = "The release the tenants deploy (production's)."
  value = {
    name    = data.pivot_release.prod.name
    version = data.pivot_release.prod.version
    images  = data.pivot_release.prod.images
  }
}

output "tenants" {
  description = "Per tenant: its account, cluster, VPC, the tag each service runs, and each service's database and public hostname."
  value = { for name, t in module.tenant : name => {
    account_id  = t.account_id
    cluster_arn = t.cluster_arn
    vpc_id      = t.vpc_id
    deployed    = t.deployed
    services    = t.services
  } }
}
