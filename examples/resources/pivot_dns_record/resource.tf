# A tenant's apex points at its frontend on Cloudflare Pages.
resource "pivot_dns_record" "acme" {
  zone    = "pivot.app"
  name    = "acme"
  type    = "CNAME"
  content = "acme-frontend.pages.dev"
  proxied = true
  comment = "acme tenant frontend"
}

resource "pivot_dns_record" "verification" {
  zone    = "pivot.app"
  name    = "_acme-challenge.acme"
  type    = "TXT"
  content = "kx3V9fJ2qW-0m1n2o3p4q5r6s7t8u9v0w1x2y3z4a5b"
  ttl     = 300
}
