locals {
  stage = coalesce(var.stage, var.name)

  database_identifier = coalesce(var.database.identifier, var.name)

  # A managed cluster is reached through Service Connect: `nats`, or
  # `nats-1`..`nats-3` with three replicas (as pivot_environment names them).
  managed_nats_url = coalesce(var.nats.replicas, 1) == 3 ? join(",", [for i in range(1, 4) : "nats://nats-${i}:4222"]) : "nats://nats:4222"
  nats_url         = var.nats.managed ? local.managed_nats_url : var.nats.url

  # Where the tasks run: the environment's own network, or the one given.
  network = var.create_vpc ? {
    subnet_ids         = toset(pivot_vpc.this[0].private_subnet_ids)
    security_group_ids = try(var.network.security_group_ids, null)
    assign_public_ip   = false
  } : var.network
  ingress = var.create_vpc ? merge(var.ingress, { subnet_ids = var.ingress.subnet_ids != null ? var.ingress.subnet_ids : toset(pivot_vpc.this[0].public_subnet_ids) }) : var.ingress

  # Streams and consumers: through the provider's NATS connection, or
  # through jetstream_url (a tenant's own NATS, with its platform user).
  jetstream = var.jetstream_url == null ? [] : [{
    servers  = [for u in split(",", var.jetstream_url) : trimspace(u)]
    user     = var.nats.managed ? "pivot" : var.nats.user
    password = var.nats_password
  }]
  target = var.target == null ? [] : [var.target]
}

################################################################################
# Network
################################################################################

resource "pivot_vpc" "this" {
  count = var.create_vpc ? 1 : 0

  environment = var.name
  cidr        = var.vpc.cidr
  zones       = var.vpc.zones

  dynamic "target" {
    for_each = local.target
    content {
      role_arn    = target.value.role_arn
      external_id = target.value.external_id
      region      = target.value.region
    }
  }
}

################################################################################
# Environment
################################################################################

resource "pivot_environment" "this" {
  name               = var.name
  stage              = local.stage
  container_insights = var.container_insights
  log_retention_days = var.log_retention_days
  network            = local.network
  collector          = var.collector

  nats = {
    url      = var.nats.url
    user     = var.nats.user
    password = var.nats_password
    managed  = var.nats.managed
    replicas = var.nats.replicas
    image    = var.nats.image
    cpu      = var.nats.cpu
    memory   = var.nats.memory
  }

  ingress = var.create_ingress ? local.ingress : null

  dynamic "target" {
    for_each = local.target
    content {
      role_arn    = target.value.role_arn
      external_id = target.value.external_id
      region      = target.value.region
    }
  }

  lifecycle {
    precondition {
      condition     = (var.nats.url != null) != var.nats.managed
      error_message = "Set exactly one of nats.url (an existing NATS system) or nats.managed = true (JetStream run in the environment)."
    }
    precondition {
      condition     = var.nats_password == null || var.nats.user != null || var.nats.managed
      error_message = "nats_password needs nats.user: set the user name the password belongs to."
    }
    precondition {
      condition     = !var.create_ingress || var.public_zone != null
      error_message = "create_ingress needs public_zone: the Cloudflare zone that holds the environment's public hostnames, e.g. \"pivot.app\"."
    }
  }
}

################################################################################
# JetStream
################################################################################

resource "pivot_nats_stream" "this" {
  for_each = var.streams

  name             = each.key
  owner            = each.value.owner
  description      = each.value.description
  subjects         = each.value.subjects
  storage          = each.value.storage
  duplicate_window = each.value.duplicate_window
  max_age          = each.value.max_age
  replicas         = each.value.replicas

  dynamic "nats" {
    for_each = local.jetstream
    content {
      servers  = nats.value.servers
      user     = nats.value.user
      password = nats.value.password
    }
  }

  # Streams live in the environment's NATS system: its URL must be known to
  # the provider (NATS_URL) as well as to the services.
  depends_on = [pivot_environment.this]
}

resource "pivot_nats_consumer" "this" {
  for_each = var.consumers

  # Through the stream resource when this environment declares it, so the
  # consumer is created after and destroyed before its stream.
  stream          = try(pivot_nats_stream.this[each.value.stream].name, each.value.stream)
  durable_name    = each.value.durable_name
  description     = each.value.description
  filter_subjects = each.value.filter_subjects
  ack_policy      = each.value.ack_policy
  ack_wait        = each.value.ack_wait
  max_deliver     = each.value.max_deliver
  max_ack_pending = each.value.max_ack_pending

  dynamic "nats" {
    for_each = local.jetstream
    content {
      servers  = nats.value.servers
      user     = nats.value.user
      password = nats.value.password
    }
  }
}

################################################################################
# Database
################################################################################

resource "pivot_aurora_cluster" "this" {
  count = var.create_database ? 1 : 0

  identifier                = local.database_identifier
  engine_version            = var.database.engine_version
  instance_class            = var.database.instance_class
  reader_count              = var.database.reader_count
  deletion_protection       = var.database.deletion_protection
  final_snapshot_identifier = var.database.final_snapshot_identifier
  global_cluster_identifier = var.database.global_cluster_identifier
  db_subnet_group_name      = var.database.db_subnet_group_name
  security_group_ids        = var.database.security_group_ids
  endpoint_override         = var.database.endpoint_override
  serverless_min_capacity   = var.database.serverless_min_capacity
  serverless_max_capacity   = var.database.serverless_max_capacity

  # In the services' VPC (a subnet group from their subnets) and reachable
  # from their security groups on 5432: without these RDS picks the default
  # VPC and its default security group, which admits only its own members.
  subnet_ids                = var.database.db_subnet_group_name == null ? pivot_environment.this.subnet_ids : null
  client_security_group_ids = pivot_environment.this.security_group_ids

  dynamic "target" {
    for_each = local.target
    content {
      role_arn    = target.value.role_arn
      external_id = target.value.external_id
      region      = target.value.region
    }
  }
}
