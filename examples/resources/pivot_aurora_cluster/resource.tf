# Production: two readers, protected, the primary of a global database.
resource "pivot_aurora_cluster" "prod" {
  identifier                = "prod"
  engine_version            = "16.4"
  instance_class            = "db.r6g.xlarge"
  reader_count              = 2
  deletion_protection       = true
  final_snapshot_identifier = "prod-final"
  global_cluster_identifier = "pivot-prod"
  db_subnet_group_name      = "prod-private"
  security_group_ids        = ["sg-0a1b2c3d4e5f60718"]
}

# The same global database's secondary in another region.
resource "pivot_aurora_cluster" "prod_eu" {
  identifier                = "prod-eu"
  engine_version            = "16.4"
  global_cluster_identifier = pivot_aurora_cluster.prod.global_cluster_identifier
  db_subnet_group_name      = "prod-private"

  target {
    region = "eu-west-1"
  }
}

# On the local platform stack: the cluster exists in moto, and its endpoints
# point at the local PostgreSQL that stands in for Aurora.
resource "pivot_aurora_cluster" "local" {
  identifier = "staging"

  endpoint_override = {
    writer = "127.0.0.1:55432"
  }
}
