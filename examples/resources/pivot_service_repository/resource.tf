# messenger's images, in the registry account. The lifecycle policy keeps
# every tag a release record names; staging and production may pull.
data "pivot_release" "staging" {
  name = "staging"
}

data "pivot_release" "prod" {
  name = "prod"
}

resource "pivot_service_repository" "messenger" {
  name    = "pivot/messenger"
  service = "messenger"
  keep_tags = compact([
    lookup(data.pivot_release.staging.images, "messenger", ""),
    lookup(data.pivot_release.prod.images, "messenger", ""),
  ])
  keep_last        = 30
  pull_account_ids = ["111111111111", "222222222222"]

  target {
    role_arn = "arn:aws:iam::333333333333:role/pivot-registry-admin"
  }
}
