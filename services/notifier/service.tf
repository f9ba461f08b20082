# Deployment declaration of notifier, messenger's subscriber. CI sets
# image_tag with `pivotctl image bump notifier <sha>` after pushing the image.

locals {
  image_tag = "7c2231421704b83cf6a1904f03c614e0396b0a76"
}

output "declaration" {
  description = "notifier's deployment declaration (see services/README.md and modules/service)."
  value = {
    name             = "notifier"
    image_repository = "pivot/notifier"
    image_tag        = local.image_tag

    cpu           = 256
    memory        = 512
    desired_count = 1
    ports = [
      # Only /health: notifier serves no API.
      { name = "http", container_port = 8080, protocol = "http" },
    ]

    env = {
      LOG_LEVEL     = "INFO"
      NATS_STREAM   = "MESSENGER"
      NATS_CONSUMER = "notifier"
    }
    secrets  = []
    database = true

    public_hostname = null

    streams = [
      {
        name        = "NOTIFIER_DEAD_LETTER"
        description = "events notifier could not process after NATS_MAX_DELIVER attempts"
        subjects    = ["notifier.v1.dead_letter"]
        storage     = "file"
      },
    ]
    # max_deliver -1: the subscriber counts deliveries itself and
    # dead-letters at NATS_MAX_DELIVER, so nothing is dropped silently.
    consumers = [
      {
        stream          = "MESSENGER"
        durable_name    = "notifier"
        description     = "notifier's durable pull consumer"
        filter_subjects = ["messenger.v1.message.created", "messenger.v1.room.member_added"]
        ack_policy      = "explicit"
        ack_wait        = "30s"
        max_deliver     = -1
      },
    ]

    env_schema_json      = file("${path.module}/env-schema.json")
    health_check_command = ["CMD", "/app", "--health-check"]
  }
}
