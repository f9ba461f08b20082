output "account_id" {
  description = "The tenant's AWS account."
  value       = regex("^arn:aws[a-z-]*:iam::([0-9]{12}):", var.role_arn)[0]
}

output "cluster_arn" {
  description = "The tenant's ECS cluster."
  value       = module.environment.cluster_arn
}

output "vpc_id" {
  description = "The tenant's own VPC."
  value       = module.environment.vpc_id
}

output "deployed" {
  description = "The image tag each service runs."
  value       = { for name, svc in module.service : name => svc.image_tag }
}

output "services" {
  description = "Per service: ECS service, database and public hostname."
  value = { for name, svc in module.service : name => {
    service_arn        = svc.service_arn
    database_name      = svc.database_name
    database_role_name = svc.database_role_name
    public_hostname    = svc.public_hostname
  } }
}
