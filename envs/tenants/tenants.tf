# The tenants: one entry per single-tenant private deployment, each in its
# own AWS account. Edited by `pivotctl tenant add` / `pivotctl tenant remove`
# (keep this a literal map of literal objects). Removing a tenant takes two
# reviewed changes: deletion_protection = false, apply, then remove.

locals {
  tenants = {
  }
}
