# A bucket is imported by its name.
terraform import pivot_service_bucket.messenger staging-messenger-111111111111
