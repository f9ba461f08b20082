resource "pivot_aurora_cluster" "staging" {
  identifier = "staging"
}

# The messenger service's own database on the staging cluster. Its writer and
# reader URLs land in /staging/messenger/DATABASE_URL and
# /staging/messenger/DATABASE_READER_URL, which pivot_service injects as
# secrets.
resource "pivot_service_database" "messenger" {
  environment     = "staging"
  service         = "messenger"
  writer_endpoint = pivot_aurora_cluster.staging.writer_endpoint
  reader_endpoint = pivot_aurora_cluster.staging.reader_endpoint

  # Change to rotate the password in place.
  rotation_trigger = "2026-11"
}
