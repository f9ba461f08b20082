# The service catalog: every service that runs in every environment. Each
# service's declaration lives in services/<name>/service.tf; adding a service
# is its folder plus one module block and one entry in declarations
# (`pivotctl service new` writes both).

module "messenger" { source = "./messenger" }
module "friend" { source = "./friend" }
module "notifier" { source = "./notifier" }

locals {
  declared = {
    messenger = module.messenger.declaration
    friend    = module.friend.declaration
    notifier  = module.notifier.declaration
  }
}

output "declarations" {
  description = "Every service's deployment declaration, by service name."
  value       = local.declared

  precondition {
    condition = alltrue(flatten([
      for name, d in local.declared : [for callee in try(d.calls, []) : contains(keys(local.declared), callee) && callee != name]
    ]))
    error_message = "A service's calls must name other services of this catalog: ${join("; ", flatten([for name, d in local.declared : [for callee in try(d.calls, []) : "${name} calls ${callee}" if !contains(keys(local.declared), callee) || callee == name]]))}. Add the callee's declaration here or remove it from calls."
  }
}
