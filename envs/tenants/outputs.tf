output "release" {
  description = "The release the tenants deploy (production's)."
  value = {
    name    = data.pivot_release.prod.name
    version = data.pivot_release.prod.version
    images  = data.pivot_release.prod.images
  }
}

output "tenants" {
  description = "Per tenant: its account, cluster and the tag each service runs."
  value = { for name, t in pivot_tenant_deployment.this : name => {
    account_id  = t.account_id
    cluster_arn = t.cluster_arn
    deployed    = t.deployed
  } }
}
