# Deployment declaration of messenger: what every environment runs. CI sets
# image_tag with `pivotctl image bump messenger <sha>` after pushing the
# image; everything else here is reviewed like code.

locals {
  image_tag = "7c2231421704b83cf6a1904f03c614e0396b0a76"
}

output "declaration" {
  description = "messenger's deployment declaration (see services/README.md and modules/service)."
  value = {
    name             = "messenger"
    image_repository = "pivot/messenger"
    image_tag        = local.image_tag

    cpu           = 256
    memory        = 512
    desired_count = 1
    ports = [
      { name = "grpc", container_port = 8080, protocol = "grpc" },
    ]

    env = {
      LOG_LEVEL = "INFO"
    }
    secrets  = []
    database = true
    # Its own S3 bucket, which no other service may use.
    bucket = true

    public_hostname = null

    # messenger owns its events; Terraform owns the stream outside STAGE=local.
    streams = [
      {
        name             = "MESSENGER"
        description      = "messenger's events (rooms, members, messages)"
        subjects         = ["messenger.v1.>"]
        storage          = "file"
        duplicate_window = "2m"
      },
    ]
    consumers = []

    # The binary's own contract (`messenger --print-env-schema`); the plan
    # fails when a required variable is set nowhere.
    env_schema_json = file("${path.module}/env-schema.json")

    # The distroless image has no curl: the binary checks its own /health.
    health_check_command = ["CMD", "/app", "--health-check"]
  }
}
