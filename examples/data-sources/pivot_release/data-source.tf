# envs/prod deploys exactly what staging verified.
data "pivot_release" "staging" {
  name = "staging"
  target {
    role_arn = "arn:aws:iam::111111111111:role/pivot-release-reader"
  }
}

output "messenger_tag" {
  value = data.pivot_release.staging.images["messenger"]
}
