# A cluster is imported by its identifier. endpoint_override and
# final_snapshot_identifier are configuration only and are not imported.
terraform import pivot_aurora_cluster.prod prod
