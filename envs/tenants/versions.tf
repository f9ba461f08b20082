terraform {
  required_version = ">= 1.8.0"

  required_providers {
    pivot = {
      source  = "pivotapp/pivot"
      version = ">= 0.1.0"
    }
  }

  # Terraform Cloud runs this root in the workspace platform-tenants (the
  # registry grant) and in one workspace per tenant, platform-tenant-<name>
  # (selection.tf); all carry the tag platform-tenants, so the CLI can pick
  # one with TF_WORKSPACE. Against the local platform stack,
  # local_override.tf (from local_override.tf.example) replaces this block
  # with a local backend.
  cloud {
    organization = "pivotapp"

    workspaces {
      tags = ["platform-tenants"]
    }
  }
}
