# Deployment declaration of friend, the external API: published on the
# environment's public hostname. CI sets image_tag with
# `pivotctl image bump friend <sha>` after pushing the image.

locals {
  image_tag = "7c2231421704b83cf6a1904f03c614e0396b0a76"
}

output "declaration" {
  description = "friend's deployment declaration (see services/README.md and modules/service)."
  value = {
    name             = "friend"
    image_repository = "pivot/friend"
    image_tag        = local.image_tag

    cpu           = 256
    memory        = 512
    desired_count = 1
    ports = [
      # Connect over h2c; the load balancer and clients speak HTTP.
      { name = "http", container_port = 8080, protocol = "http" },
    ]

    env = {
      LOG_LEVEL     = "INFO"
      MESSENGER_URL = "http://messenger:8080"
      JWT_AUDIENCE  = "pivot-api"
    }
    # SecureString /<environment>/friend/JWT_HS256_SECRET, put by an operator
    # before the first apply (the plan fails while it is missing).
    secrets = ["JWT_HS256_SECRET"]
    # MESSENGER_URL is messenger's Service Connect name: friend's tasks must
    # start after messenger exists to resolve it.
    calls    = ["messenger"]
    database = false

    # friend.<environment subdomain>.<zone>, e.g. friend.staging.pivot.app.
    public_hostname = "friend"

    streams   = []
    consumers = []

    env_schema_json      = file("${path.module}/env-schema.json")
    health_check_command = ["CMD", "/app", "--health-check"]
  }
}
