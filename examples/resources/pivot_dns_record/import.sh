# A record is imported as <zone>/<record id>, or as <zone>/<type>/<name>.
terraform import pivot_dns_record.acme pivot.app/CNAME/acme.pivot.app
