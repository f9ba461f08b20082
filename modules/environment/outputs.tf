################################################################################
# Environment
################################################################################

output "name" {
  description = "The environment's name."
  value       = pivot_environment.this.name
}

output "stage" {
  description = "Value of `STAGE` the services read."
  value       = pivot_environment.this.stage
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = pivot_environment.this.cluster_name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = pivot_environment.this.cluster_arn
}

output "namespace_name" {
  description = "Cloud Map namespace Service Connect uses."
  value       = pivot_environment.this.namespace_name
}

output "otlp_endpoint" {
  description = "OTLP/HTTP base URL of the environment's collector."
  value       = pivot_environment.this.otlp_endpoint
}

output "parameter_root" {
  description = "Parameter Store root of the environment, `/<name>`."
  value       = pivot_environment.this.parameter_root
}

output "nats_url" {
  description = "NATS URL the services connect to: `nats.url`, or the managed cluster's Service Connect address."
  value       = local.nats_url
}

output "load_balancer_dns_name" {
  description = "DNS name of the environment's load balancer; null without ingress."
  value       = try(pivot_environment.this.load_balancer_dns_name, null)
}

output "vpc_id" {
  description = "The environment's own VPC; null without `create_vpc`."
  value       = try(pivot_vpc.this[0].id, null)
}

output "subnet_ids" {
  description = "Subnets the services run in."
  value       = pivot_environment.this.subnet_ids
}

################################################################################
# JetStream
################################################################################

output "streams" {
  description = "Names of the environment's JetStream streams."
  value       = [for s in pivot_nats_stream.this : s.name]
}

output "consumers" {
  description = "Durable consumers, as `<stream>/<durable_name>`."
  value       = [for c in pivot_nats_consumer.this : "${c.stream}/${c.durable_name}"]
}

################################################################################
# Database
################################################################################

output "database_writer_endpoint" {
  description = "Writer `host:port` of the Aurora cluster; null without a database."
  value       = try(pivot_aurora_cluster.this[0].writer_endpoint, null)
}

output "database_reader_endpoint" {
  description = "Reader `host:port` of the Aurora cluster; null without a database."
  value       = try(pivot_aurora_cluster.this[0].reader_endpoint, null)
}

################################################################################
# For modules/service
################################################################################

output "service_context" {
  description = "Everything modules/service needs to know about the environment, in one value: pass it as the service module's `environment`."
  value = {
    name          = pivot_environment.this.name
    stage         = pivot_environment.this.stage
    cluster       = pivot_environment.this.cluster_name
    namespace     = pivot_environment.this.namespace_name
    otlp_endpoint = pivot_environment.this.otlp_endpoint
    nats_url      = local.nats_url
    # A managed NATS has the platform user; its password, like a given
    # system's, is the SecureString /<name>/_platform/NATS_PASSWORD, which
    # services get as a secret (never as plain env).
    nats_user = var.nats.managed ? "pivot" : var.nats.user
    # Taken from the environment's parameters, so it stays unknown until
    # the parameter exists and the plan does not look for it too early.
    nats_password_secret = var.nats.managed || var.nats_password != null ? try(basename(pivot_environment.this.platform_parameters["NATS_PASSWORD"]), "NATS_PASSWORD") : null
    subnet_ids           = pivot_environment.this.subnet_ids
    security_group_ids   = pivot_environment.this.security_group_ids
    assign_public_ip     = pivot_environment.this.assign_public_ip
    database_writer      = try(pivot_aurora_cluster.this[0].writer_endpoint, null)
    database_reader      = try(pivot_aurora_cluster.this[0].reader_endpoint, null)
    database_ssl_mode    = var.database.ssl_mode
    ingress              = var.create_ingress
    public_zone          = var.public_zone
    public_subdomain     = var.public_subdomain
    target               = var.target
  }
}
