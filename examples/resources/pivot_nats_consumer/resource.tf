# A pull consumer for the shipping service: redeliveries back off, and the
# consumer can be paused during maintenance by setting pause_until.
resource "pivot_nats_consumer" "shipping" {
  stream       = pivot_nats_stream.orders.name
  durable_name = "shipping"
  description  = "Ships paid orders"

  filter_subjects = ["orders.paid"]
  ack_policy      = "explicit"
  max_deliver     = 5
  backoff         = ["1s", "10s", "1m", "5m"]
  max_ack_pending = 500
  max_batch       = 100
  max_expires     = "30s"

  # pause_until = "2026-01-01T06:00:00Z"

  metadata = {
    owner = "shipping"
  }
}

# A push consumer delivering to a queue group.
resource "pivot_nats_consumer" "notifier" {
  stream          = pivot_nats_stream.orders.name
  durable_name    = "notifier"
  deliver_policy  = "new"
  deliver_subject = "deliver.notifier"
  deliver_group   = "notifiers"
  heartbeat       = "5s"
  flow_control    = true
  ack_wait        = "30s"
}
