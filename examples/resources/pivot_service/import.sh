# A service is imported by <cluster>/<service name>; the cluster may be an ARN.
terraform import pivot_service.messenger staging/messenger
