# envs/staging: record the image set once every service runs it, steady.
resource "pivot_release" "staging" {
  name           = "staging"
  images         = { for name, svc in module.service : name => svc.image_tag }
  verify_cluster = module.environment.cluster_name
}
