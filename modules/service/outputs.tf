################################################################################
# Service
################################################################################

output "name" {
  description = "The service's name."
  value       = var.declaration.name
}

output "image_tag" {
  description = "The image tag the service runs (known once it reached steady state); what the release records."
  value       = try(pivot_service.this[0].image.tag, null)
}

output "image" {
  description = "The full image reference the service runs."
  value       = try("${pivot_service.this[0].image.repository}:${pivot_service.this[0].image.tag}", null)
}

output "service_id" {
  description = "`<cluster>/<name>` of the ECS service."
  value       = try(pivot_service.this[0].id, null)
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = try(pivot_service.this[0].arn, null)
}

output "task_definition_arn" {
  description = "ARN of the task definition revision the service runs."
  value       = try(pivot_service.this[0].task_definition_arn, null)
}

output "task_role_arn" {
  description = "ARN of the service's task role."
  value       = try(pivot_service.this[0].task_role_arn, null)
}

output "execution_role_arn" {
  description = "ARN of the service's task execution role."
  value       = try(pivot_service.this[0].execution_role_arn, null)
}

output "log_group_name" {
  description = "CloudWatch log group of the service."
  value       = try(pivot_service.this[0].log_group_name, null)
}

################################################################################
# Database
################################################################################

output "database_name" {
  description = "The service's own database; null without one."
  value       = try(pivot_service_database.this[0].database_name, null)
}

output "database_role_name" {
  description = "The login role owning the database; null without one."
  value       = try(pivot_service_database.this[0].role_name, null)
}

output "database_url_parameter" {
  description = "Parameter Store name of the writer URL (`/<environment>/<service>/DATABASE_URL`); null without a database."
  value       = try(pivot_service_database.this[0].writer_url_parameter, null)
}

################################################################################
# Public endpoint
################################################################################

output "public_hostname" {
  description = "The service's public hostname; null when it is not published."
  value       = try(pivot_public_endpoint.this[0].hostname, null)
}

################################################################################
# Bucket
################################################################################

output "bucket_name" {
  description = "The service's own bucket, when its declaration sets `bucket = true`."
  value       = try(pivot_service_bucket.this[0].name, null)
}

output "bucket_arn" {
  description = "ARN of the service's own bucket."
  value       = try(pivot_service_bucket.this[0].arn, null)
}
