# Read a stream another team manages, e.g. to source from it or to check
# its retention before depending on it.
data "pivot_nats_stream" "payments" {
  name = "PAYMENTS"
}

output "payments_subjects" {
  value = data.pivot_nats_stream.payments.subjects
}
