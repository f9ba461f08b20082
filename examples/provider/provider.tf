# Production: act through the platform's deployer role; everything else
# comes from the conventional environment variables.
provider "pivot" {
  aws {
    region = "eu-west-1"
    assume_role {
      role_arn    = "arn:aws:iam::111111111111:role/platform-deployer"
      external_id = "platform"
    }
    allowed_account_ids = ["111111111111"]
  }
  cloudflare {} # CLOUDFLARE_API_TOKEN
  nats {
    servers          = ["tls://nats.internal.example.com:4222"]
    credentials_file = "/secrets/platform.creds"
  }
  postgres {} # PIVOT_POSTGRES_ADMIN_URL
}
