# Read an existing durable consumer.
data "pivot_nats_consumer" "ledger" {
  stream       = "PAYMENTS"
  durable_name = "ledger"
}

output "ledger_ack_wait" {
  value = data.pivot_nats_consumer.ledger.ack_wait
}
