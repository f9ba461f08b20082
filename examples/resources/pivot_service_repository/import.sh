# A repository is imported by its name.
terraform import pivot_service_repository.messenger pivot/messenger
