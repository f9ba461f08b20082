# A release record is imported by its name.
terraform import pivot_release.staging staging
