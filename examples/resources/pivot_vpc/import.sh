# A network is imported by its environment's name: its parts are found by
# their pivot:environment and pivot:managed-by tags.
terraform import pivot_vpc.acme acme
