# One service in one environment: task definition (app + FireLens log
# router), ECS service on Service Connect, its own task and execution roles,
# its log group. CI bumps image.tag; everything else is reviewed here.
resource "pivot_service" "messenger" {
  name                      = "messenger"
  environment               = "staging"
  cluster                   = "staging"
  service_connect_namespace = "staging.pivot.local"

  image {
    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger"
    tag        = "3f9c2e1"
  }

  cpu              = 512
  memory           = 1024
  cpu_architecture = "ARM64"
  desired_count    = 2

  ports = [
    # Clients in the namespace dial messenger:8080 over gRPC.
    { name = "grpc", container_port = 8080, protocol = "grpc" },
  ]

  env = {
    STAGE     = "staging"
    LOG_LEVEL = "info"
  }

  # SecureString parameters /staging/messenger/JWT_KEY and
  # /staging/messenger/NATS_CREDS; the plan fails while one is missing.
  secrets = ["JWT_KEY", "NATS_CREDS"]

  # The binary's own contract, usually file("messenger.env-schema.json") as
  # written by `messenger --print-env-schema`: the plan fails when a required
  # variable is set nowhere.
  env_schema_json = jsonencode([
    { name = "STAGE", required = true, secret = false },
    { name = "JWT_KEY", required = true, secret = true },
    { name = "DATABASE_URL", required = true, secret = true },
    { name = "LOG_LEVEL", required = false, default = "INFO", secret = false },
  ])
  injected_env = ["DATABASE_URL", "DATABASE_READER_URL"]

  tracing = {
    otlp_endpoint = "http://otel-collector.staging.pivot.local:4318"
  }

  deployment = {
    timeout = "15m"
  }

  network = {
    subnets         = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    security_groups = ["sg-0a1b2c3d4e5f60001"]
  }

  s3_bucket = "pivot-staging-messenger-attachments"

  # From here on the scaler owns the count (desired_count is the start):
  # 2 to 10 tasks on CPU and memory, one task at night on weekdays.
  autoscaling = {
    min_capacity       = 2
    max_capacity       = 10
    cpu_target         = 60
    memory_target      = 75
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    scheduled = [
      { name = "night", schedule = "cron(0 22 ? * MON-FRI *)", timezone = "Europe/Berlin", min_capacity = 1, max_capacity = 2 },
      { name = "morning", schedule = "cron(0 6 ? * MON-FRI *)", timezone = "Europe/Berlin", min_capacity = 2, max_capacity = 10 },
    ]
  }

  tags = {
    team = "chat"
  }
}

# A tenant's copy of the same service, in the tenant's own AWS account.
resource "pivot_service" "messenger_acme" {
  name                      = "messenger"
  environment               = "acme"
  cluster                   = "acme"
  service_connect_namespace = "acme.pivot.local"

  image {
    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger"
    tag        = "3f9c2e1"
  }

  cpu    = 256
  memory = 512
  ports  = [{ name = "grpc", container_port = 8080 }]
  env    = { STAGE = "acme" }

  network = {
    subnets = ["subnet-0f0e0d0c0b0a00001"]
  }

  target {
    role_arn    = "arn:aws:iam::210987654321:role/pivot-deployer"
    external_id = "acme-7f3a"
  }
}
