# messenger's own bucket: only its task role (and the role Terraform runs
# as) may use it, whatever IAM rights another service holds.
resource "pivot_service_bucket" "messenger" {
  name          = "staging-messenger-111111111111"
  environment   = "staging"
  service       = "messenger"
  task_role_arn = pivot_service.messenger.task_role_arn
  versioning    = true
}
