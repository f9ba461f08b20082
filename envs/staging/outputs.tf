output "cluster_name" {
  description = "The staging ECS cluster."
  value       = module.environment.cluster_name
}

output "release" {
  description = "The image set staging verified: what production deploys next."
  value = {
    name    = pivot_release.staging.name
    version = pivot_release.staging.version
    images  = pivot_release.staging.images
  }
}

output "services" {
  description = "Per service: image, ECS service, roles, database, public hostname and own bucket."
  value = { for name, svc in module.service : name => {
    image               = svc.image
    service_arn         = svc.service_arn
    task_definition_arn = svc.task_definition_arn
    task_role_arn       = svc.task_role_arn
    execution_role_arn  = svc.execution_role_arn
    database_name       = svc.database_name
    database_role_name  = svc.database_role_name
    public_hostname     = svc.public_hostname
    bucket_name         = svc.bucket_name
  } }
}
