# The service catalog: every service that runs in every environment. Each
# service's declaration lives in services/<name>/service.tf; adding a service
# is its folder plus one module block and one entry in declarations
# (`pivotctl service new` writes both).

module "messenger" { source = "./messenger" }
module "friend" { source = "./friend" }
module "notifier" { source = "./notifier" }

output "declarations" {
  description = "Every service's deployment declaration, by service name."
  value = {
    messenger = module.messenger.declaration
    friend    = module.friend.declaration
    notifier  = module.notifier.declaration
  }
}
