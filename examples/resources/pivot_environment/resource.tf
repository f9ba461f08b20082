# Staging: an existing NATS system, the collector with its defaults, and a
# load balancer for public API services.
resource "pivot_environment" "staging" {
  name               = "staging"
  container_insights = "enabled"
  log_retention_days = 30

  nats = {
    url      = "nats://nats.staging.internal:4222"
    user     = "platform"
    password = var.nats_password
  }

  ingress = {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
  }
}

# A tenant's private deployment: its own account, its own NATS cluster.
resource "pivot_environment" "acme" {
  name  = "acme"
  stage = "acme"

  nats = {
    managed  = true
    replicas = 3
  }

  collector = {
    desired_count = 2
    config        = <<-YAML
      receivers:
        otlp:
          protocols:
            grpc:
              endpoint: 0.0.0.0:4317
            http:
              endpoint: 0.0.0.0:4318
      processors:
        batch: {}
      exporters:
        otlphttp:
          endpoint: https://otlp.observability.acme.example
      service:
        pipelines:
          traces:
            receivers: [otlp]
            processors: [batch]
            exporters: [otlphttp]
    YAML
  }

  network = {
    subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-1a2b3c4d5e6f70819"]
  }

  target {
    role_arn    = "arn:aws:iam::210987654321:role/pivot-deployer"
    external_id = "acme-7f3a"
  }
}

variable "nats_password" {
  type      = string
  sensitive = true
}
