# A public endpoint is imported as <environment>/<service>/<zone>; its
# hostname is read from the listener rule that forwards to the service.
terraform import pivot_public_endpoint.friend prod/friend/pivot.app
