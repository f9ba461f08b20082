################################################################################
# Tenant selection
################################################################################

# In Terraform Cloud every tenant has a workspace of its own,
# platform-tenant-<name>, running this root with var.tenant = "<name>": the
# tenants roll out in parallel (Terraform Cloud runs one run at a time per
# workspace), each plan is reviewable alone, and one tenant's failure or
# lock holds back no other. The workspace platform-tenants runs it with
# var.tenant = "" and keeps only what the tenants share: the registry's
# pull grant, which names every tenant's account. Locally (and in the
# tests) var.tenant is null: every tenant and the grant in one run.

variable "tenant" {
  description = "The one tenant of tenants.tf this run deploys (its workspace `platform-tenant-<name>` sets it). Null: every tenant and the registry grant. \"\": no tenant, only the registry grant (the `platform-tenants` workspace). A name no longer in tenants.tf plans the destruction of that tenant's deployment."
  type        = string
  default     = null

  validation {
    condition     = var.tenant == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$", coalesce(var.tenant, "x")))
    error_message = "tenant must be a tenant's name as in tenants.tf (lowercase letters, digits and hyphens), or \"\" for the registry grant alone."
  }
}

locals {
  selected_tenants = var.tenant == null ? local.tenants : { for name, t in local.tenants : name => t if name == var.tenant }
  manage_registry  = var.tenant == null || var.tenant == ""
}

# Two workspaces must never manage the same tenant: where Terraform knows
# the workspace's name (terraform.workspace under the cloud block), a
# tenant workspace must select its own tenant and platform-tenants none.
output "tenant_selection" {
  description = "The tenants this run manages (every tenant when var.tenant is null)."
  value       = sort(keys(local.selected_tenants))

  precondition {
    condition     = !startswith(terraform.workspace, "platform-tenant-") || var.tenant == trimprefix(terraform.workspace, "platform-tenant-")
    error_message = "Workspace ${terraform.workspace} must set the Terraform variable tenant = \"${trimprefix(terraform.workspace, "platform-tenant-")}\"."
  }

  precondition {
    condition     = terraform.workspace != "platform-tenants" || var.tenant == ""
    error_message = "Workspace platform-tenants must set the Terraform variable tenant = \"\" (the registry grant only): the tenants have workspaces of their own."
  }
}
