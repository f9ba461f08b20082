################################################################################
# tfc-relay
################################################################################

# tfc-relay (cmd/tfc-relay) receives the staging workspace's Terraform Cloud
# notifications at https://tfc-relay.<public_zone>/, checks their HMAC and
# age, and sends GitHub the repository_dispatch "staging-applied" that
# starts trigger-production-deploys. It runs in production's cluster as an
# ordinary service, from the same module every service uses. Its two
# tokens are SecureString parameters an operator puts before the first
# apply (the plan fails while one is missing):
#   /prod/tfc-relay/TFC_NOTIFICATION_TOKEN  the notification's HMAC key
#   /prod/tfc-relay/GITHUB_TOKEN            may create repository dispatches
# and `pivotctl tfc setup-notification` points staging's notification
# configuration at it with the same HMAC key. Off unless var.tfc_relay is
# set (the local platform stack has no image for it).

locals {
  tfc_relay = {
    name             = "tfc-relay"
    image_repository = "pivot/tfc-relay"
    image_tag        = try(var.tfc_relay.image_tag, "latest")

    cpu    = 256
    memory = 512
    # One task: the relay remembers dispatched runs in memory to refuse
    # replays, and a second task would not know them.
    desired_count = 1
    ports = [
      { name = "http", container_port = 8080, protocol = "http" },
    ]

    env = {
      PORT                   = "8080"
      TFC_STAGING_WORKSPACES = "platform-staging"
      GITHUB_REPOSITORY      = try(var.tfc_relay.github_repository, "")
      RELAY_MAX_AGE          = "10m"
    }
    secrets  = ["TFC_NOTIFICATION_TOKEN", "GITHUB_TOKEN"]
    database = false

    # tfc-relay.<zone>: Terraform Cloud must reach it from the internet.
    public_hostname = "tfc-relay"

    streams   = []
    consumers = []

    health_check_path    = "/health"
    health_check_command = ["CMD", "/app", "--health-check"]
  }
}

module "tfc_relay" {
  source = "../../modules/service"
  create = var.tfc_relay != null

  declaration    = local.tfc_relay
  environment    = module.environment.service_context
  image_registry = var.image_registry

  depends_on = [module.environment]
}

variable "tfc_relay" {
  description = "Deploy tfc-relay in this environment: the GitHub repository it dispatches to (owner/name) and its image tag (the Git SHA `cmd/tfc-relay/Dockerfile` was built from). Null deploys no relay."
  type = object({
    github_repository = string
    image_tag         = string
  })
  default = null

  validation {
    condition     = var.tfc_relay == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", try(var.tfc_relay.github_repository, "")))
    error_message = "tfc_relay.github_repository must be owner/name, e.g. pivotapp/platform."
  }
}

output "tfc_relay_url" {
  description = "Where Terraform Cloud sends staging's notifications (null without tfc_relay)."
  value       = var.tfc_relay == null ? null : "https://tfc-relay.${var.public_zone}/"
}
