# A tenant's own network, in the tenant's account: services in the private
# dual-stack subnets (IPv6 egress only), the load balancer in the public ones.
resource "pivot_vpc" "acme" {
  environment = "acme"
  cidr        = "10.0.0.0/16"
  zones       = 2

  target {
    role_arn = "arn:aws:iam::333333333333:role/pivot-deployer"
    region   = "eu-west-1"
  }
}

resource "pivot_environment" "acme" {
  name = "acme"

  network = {
    subnet_ids       = pivot_vpc.acme.private_subnet_ids
    assign_public_ip = false
  }
  ingress = {
    subnet_ids = pivot_vpc.acme.public_subnet_ids
  }
  nats = { managed = true }

  target {
    role_arn = "arn:aws:iam::333333333333:role/pivot-deployer"
    region   = "eu-west-1"
  }
}
