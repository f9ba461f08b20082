package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/cfdns"
	"github.com/pivotapp/platform/internal/cfemu"
	"github.com/pivotapp/platform/internal/localstack"
)

func testAccPublicEndpointConfig(a acctest.AWS, cf *cfemu.Server, endpoint string) string {
	return acctest.ProviderConfig(a.ProviderBlock(), acctest.CloudflareBlock(cf)) + fmt.Sprintf(`
resource "pivot_environment" "test" {
  name    = "staging"
  nats    = { url = "nats://nats.example.com:4222" }
  ingress = {}
}

resource "pivot_public_endpoint" "friend" {
  environment = pivot_environment.test.name
  service     = "friend"
  zone        = "pivot.app"
  port        = 8080
%s
}
`, endpoint)
}

func cfClient(t *testing.T, cf *cfemu.Server) *cfdns.Client {
	t.Helper()
	c, err := cfdns.New(cfdns.Config{APIToken: localstack.CloudflareToken, BaseURL: cf.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cnameAt reads the CNAME at a name with the Cloudflare client directly.
func cnameAt(ctx context.Context, c *cfdns.Client, name string) (cfdns.Record, error) {
	zone, err := c.ZoneID(ctx, "pivot.app")
	if err != nil {
		return cfdns.Record{}, err
	}
	recs, err := c.Find(ctx, zone, name, "CNAME")
	if err != nil {
		return cfdns.Record{}, err
	}
	if len(recs) != 1 {
		return cfdns.Record{}, fmt.Errorf("%d CNAME records at %s", len(recs), name)
	}
	return recs[0], nil
}

func TestAccPublicEndpoint_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cf := acctest.Cloudflare(t, "pivot.app")
	ctx := context.Background()
	cfc := cfClient(t, cf)
	elbc := elb.NewFromConfig(a.Config(t))
	const res = "pivot_public_endpoint.friend"
	var tgARN string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			zone, err := cfc.ZoneID(ctx, "pivot.app")
			if err != nil {
				return err
			}
			recs, err := cfc.Find(ctx, zone, "", "")
			if err != nil {
				return err
			}
			tgs, err := elbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
			if err != nil {
				return err
			}
			if len(recs) > 0 || len(tgs.TargetGroups) > 0 {
				return fmt.Errorf("left behind: %d DNS records, %d target groups", len(recs), len(tgs.TargetGroups))
			}
			return environmentGone(ctx, a.Config(t), "staging")
		},
		Steps: []resource.TestStep{
			// A tenant's subdomain: friend.acme.pivot.app, a CNAME to the load balancer, proxied.
			{
				Config: testAccPublicEndpointConfig(a, cf, `subdomain = "acme"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("hostname"), knownvalue.StringExact("friend.acme.pivot.app")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("target_group_name"), knownvalue.StringExact("staging-friend")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("priority"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("proxied"), knownvalue.Bool(true)),
					statecheck.CompareValuePairs(res, tfjsonpath.New("cname_target"), "pivot_environment.test", tfjsonpath.New("load_balancer_dns_name"), compareEqual{}),
				},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources[res].Primary.Attributes
					tgARN = attrs["target_group_arn"]
					rec, err := cnameAt(ctx, cfc, "friend.acme.pivot.app")
					if err != nil {
						return err
					}
					lbDNS := s.RootModule().Resources["pivot_environment.test"].Primary.Attributes["load_balancer_dns_name"]
					if rec.Content != lbDNS || !rec.Proxied || rec.TTL != 1 {
						return fmt.Errorf("record %+v, want CNAME to %s, proxied", rec, lbDNS)
					}
					tgs, err := elbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tgARN}})
					if err != nil {
						return err
					}
					tg := tgs.TargetGroups[0]
					if tg.TargetType != "ip" || aws.ToString(tg.HealthCheckPath) != "/health" || aws.ToInt32(tg.Port) != 8080 {
						return fmt.Errorf("target group %+v", tg)
					}
					rules, err := elbc.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{attrs["rule_arn"]}})
					if err != nil {
						return err
					}
					r := rules.Rules[0]
					if r.Conditions[0].HostHeaderConfig.Values[0] != "friend.acme.pivot.app" || aws.ToString(r.Actions[0].TargetGroupArn) != tgARN {
						return fmt.Errorf("rule %+v", r)
					}
					return nil
				},
			},
			// Import by <environment>/<service>/<zone>; the subdomain is recovered from the hostname.
			{ResourceName: res, ImportState: true, ImportStateId: "staging/friend/pivot.app", ImportStateVerify: true},
			// In place: another subdomain, health check path, TTL and proxying.
			{
				Config: testAccPublicEndpointConfig(a, cf, `
  subdomain         = "globex"
  health_check_path = "/healthz"
  proxied           = false
  ttl               = 300
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(res, tfjsonpath.New("hostname"), knownvalue.StringExact("friend.globex.pivot.app")),
				}},
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources[res].Primary.Attributes["target_group_arn"]; got != tgARN {
						return fmt.Errorf("target group replaced")
					}
					rec, err := cnameAt(ctx, cfc, "friend.globex.pivot.app")
					if err != nil {
						return err
					}
					if rec.Proxied || rec.TTL != 300 {
						return fmt.Errorf("record %+v", rec)
					}
					if _, err := cnameAt(ctx, cfc, "friend.acme.pivot.app"); err == nil {
						return fmt.Errorf("old name still resolves")
					}
					tgs, err := elbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tgARN}})
					if err != nil || aws.ToString(tgs.TargetGroups[0].HealthCheckPath) != "/healthz" {
						return fmt.Errorf("health check: %w", err)
					}
					return nil
				},
			},
			// Drift: the record pointed elsewhere out of band plans an update that points it back.
			{
				PreConfig: func() {
					rec, err := cnameAt(ctx, cfc, "friend.globex.pivot.app")
					if err != nil {
						t.Fatal(err)
					}
					rec.Content = "elsewhere.example.com"
					if _, err := cfc.Update(ctx, rec.ZoneID, rec); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccPublicEndpointConfig(a, cf, `
  subdomain         = "globex"
  health_check_path = "/healthz"
  proxied           = false
  ttl               = 300
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: func(s *terraform.State) error {
					rec, err := cnameAt(ctx, cfc, "friend.globex.pivot.app")
					if err != nil {
						return err
					}
					if want := s.RootModule().Resources["pivot_environment.test"].Primary.Attributes["load_balancer_dns_name"]; rec.Content != want {
						return fmt.Errorf("record points to %s, want %s", rec.Content, want)
					}
					return nil
				},
			},
			// The rule deleted out of band: plans as a create, which adopts the target group and record.
			{
				PreConfig: func() {
					rules, err := elbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tgARN}})
					if err != nil || len(rules.TargetGroups[0].LoadBalancerArns) == 0 {
						t.Fatalf("target group: %v", err)
					}
					lst, err := elbc.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(rules.TargetGroups[0].LoadBalancerArns[0])})
					if err != nil {
						t.Fatal(err)
					}
					rs, err := elbc.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: lst.Listeners[0].ListenerArn})
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range rs.Rules {
						if !aws.ToBool(r.IsDefault) {
							if _, err := elbc.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: r.RuleArn}); err != nil {
								t.Fatal(err)
							}
						}
					}
				},
				Config: testAccPublicEndpointConfig(a, cf, `
  subdomain         = "globex"
  health_check_path = "/healthz"
  proxied           = false
  ttl               = 300
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate),
				}},
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources[res].Primary.Attributes["target_group_arn"]; got != tgARN {
						return fmt.Errorf("target group not adopted: %s", got)
					}
					return nil
				},
			},
		},
	})
}

// compareEqual is a CompareValuePairs check for equal values.
type compareEqual struct{}

func (compareEqual) CompareValues(values ...any) error {
	if len(values) == 2 && fmt.Sprint(values[0]) == fmt.Sprint(values[1]) {
		return nil
	}
	return fmt.Errorf("values differ: %v", values)
}

func TestAccPublicEndpoint_noLoadBalancer(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cf := acctest.Cloudflare(t, "pivot.app")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(a.ProviderBlock(), acctest.CloudflareBlock(cf)) + `
resource "pivot_public_endpoint" "friend" {
  environment = "staging"
  service     = "friend"
  zone        = "pivot.app"
  port        = 8080
}
`,
			ExpectError: regexp.MustCompile(`(?s)Environment Has No Load Balancer.*set\s+ingress = \{\}`),
		}},
	})
}

func TestAccPublicEndpoint_validation(t *testing.T) {
	t.Parallel()
	base := "environment = \"staging\"\nservice = \"friend\"\nzone = \"pivot.app\"\nport = 8080\n"
	cases := map[string]struct {
		body string
		want string
	}{
		"outside zone":   {base + `hostname = "friend.example.com"`, `Invalid Hostname.*is not inside the zone "pivot.app"`},
		"zone apex":      {base + `hostname = "pivot.app"`, `Invalid Hostname.*is not inside the zone`},
		"hostname chars": {base + `hostname = "Friend_API.pivot.app"`, `Invalid Hostname.*is not a DNS name`},
		"subdomain":      {base + `subdomain = "Acme Corp"`, `Invalid Subdomain.*is not DNS-safe`},
		"subdomain dash": {base + `subdomain = "acme-"`, `Invalid Subdomain.*is not DNS-safe`},
		"proxied ttl":    {base + `ttl = 300`, `Invalid TTL.*proxied record's TTL is automatic`},
		"ttl range":      {base + "proxied = false\nttl = 30", `Invalid TTL.*TTL 30 is not one Cloudflare accepts`},
		"port":           {strings.Replace(base, "8080", "0", 1), `port.*value must be between 1 and 65535`},
		"priority":       {base + `priority = 50001`, `priority.*value must be between 1 and 50000`},
		"health path":    {base + `health_check_path = "health"`, `health_check_path.*must be a URL path starting with /`},
		"zone":           {strings.Replace(base, `"pivot.app"`, `"pivot app"`, 1), `Invalid Zone.*is not a DNS name`},
		"service":        {strings.Replace(base, `"friend"`, `"Friend"`, 1), `Invalid Service Name`},
		"environment":    {strings.Replace(base, `"staging"`, `"internal-x"`, 1), `Invalid Environment Name`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig() + "resource \"pivot_public_endpoint\" \"test\" {\n" + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
