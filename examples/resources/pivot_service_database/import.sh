# A service database is imported as <environment>/<service>, followed by
# /<database_name>/<role_name> when those are not the defaults.
# rotation_trigger, kms_key_id and admin_url are configuration only.
terraform import pivot_service_database.messenger staging/messenger
