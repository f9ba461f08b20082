# The grant is imported by its repositories, separated by commas; the
# accounts are read from their policies.
terraform import 'pivot_registry_access.tenants[0]' pivot/friend,pivot/messenger,pivot/notifier
