# friend.pivot.app in production; friend.acme.pivot.app for the tenant acme.
resource "pivot_public_endpoint" "friend" {
  environment = "prod"
  service     = "friend"
  zone        = "pivot.app"
  port        = 8080
}

resource "pivot_public_endpoint" "friend_acme" {
  environment = "acme"
  service     = "friend"
  zone        = "pivot.app"
  subdomain   = "acme"
  port        = 8080

  target {
    role_arn    = "arn:aws:iam::210987654321:role/pivot-deployer"
    external_id = "acme-7f3a"
  }
}

# An explicit hostname, not proxied, with its own health check path.
resource "pivot_public_endpoint" "webhooks" {
  environment       = "prod"
  service           = "webhooks"
  zone              = "pivot.app"
  hostname          = "hooks.pivot.app"
  port              = 8080
  health_check_path = "/healthz"
  proxied           = false
  ttl               = 300
}
