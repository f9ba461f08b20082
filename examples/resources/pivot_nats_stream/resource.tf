# The orders service's events. Every subject sits under "orders.", because a
# service publishes only its own events.
resource "pivot_nats_stream" "orders" {
  name        = "ORDERS"
  owner       = "orders"
  description = "Order lifecycle events"
  subjects    = ["orders.created", "orders.paid", "orders.shipped"]

  storage          = "file"
  replicas         = 3
  max_age          = "720h"
  max_bytes        = 10737418240
  duplicate_window = "2m"
  compression      = "s2"
  allow_direct     = true
  deny_delete      = true

  consumer_limits = {
    inactive_threshold = "24h"
    max_ack_pending    = 10000
  }

  metadata = {
    team = "commerce"
  }
}

# A stream in another NATS account, managed from the same configuration.
resource "pivot_nats_stream" "audit" {
  name     = "AUDIT"
  subjects = ["audit.>"]
  max_age  = "2160h"

  sources = [
    { name = "ORDERS", filter_subject = "orders.paid", external = { api = "$JS.commerce.API" } },
  ]

  nats {
    servers          = ["nats://nats.internal:4222"]
    credentials_file = "/etc/nats/audit.creds"
  }
}

# Per-message TTLs with delete markers (nats-server 2.11 or later).
resource "pivot_nats_stream" "sessions" {
  name                      = "SESSIONS"
  subjects                  = ["sessions.>"]
  max_msgs_per_subject      = 1
  allow_msg_ttl             = true
  allow_rollup_hdrs         = true
  subject_delete_marker_ttl = "15m"
}
