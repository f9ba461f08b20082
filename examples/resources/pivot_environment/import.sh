# An environment is imported by its name. The network and target settings
# are configuration only and are not imported.
terraform import pivot_environment.staging staging
