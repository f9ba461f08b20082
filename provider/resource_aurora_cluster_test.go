package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
)

func testAccAuroraConfig(a acctest.AWS, body string) string {
	return acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
resource "pivot_aurora_cluster" "test" {
  identifier     = "staging"
  engine_version = "16.4"
%s
}
`, body)
}

// clusterMembers returns the cluster's instances by writer-ness, inspected
// with the SDK.
func clusterMembers(ctx context.Context, client *rds.Client, id string) (writers, readers int, err error) {
	out, err := client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		return 0, 0, err
	}
	for _, m := range out.DBClusters[0].DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writers++
		} else {
			readers++
		}
	}
	return writers, readers, nil
}

func TestAccAuroraCluster_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	ctx := context.Background()
	client := rds.NewFromConfig(a.Config(t))
	const res = "pivot_aurora_cluster.test"
	var arn string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			out, err := client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
			if err != nil {
				return err
			}
			inst, err := client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
			if err != nil {
				return err
			}
			if len(out.DBClusters) > 0 || len(inst.DBInstances) > 0 {
				return fmt.Errorf("left behind: %d clusters, %d instances", len(out.DBClusters), len(inst.DBInstances))
			}
			return nil
		},
		Steps: []resource.TestStep{
			// Create: a writer and one reader; the master password stays in Secrets Manager.
			{
				Config: testAccAuroraConfig(a, "reader_count = 1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("writer_endpoint"), knownvalue.StringRegexp(regexp.MustCompile(`^staging\.cluster-[a-z0-9]+\.us-east-1\.rds\.amazonaws\.com:5432$`))),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("reader_endpoint"), knownvalue.StringRegexp(regexp.MustCompile(`^staging\.cluster-ro-[a-z0-9]+\..*:5432$`))),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("master_user_secret_arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:secretsmanager:`))),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("instance_ids"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("staging-1"), knownvalue.StringExact("staging-2")})),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("master_username"), knownvalue.StringExact("pivot_admin")),
				},
				Check: func(s *terraform.State) error {
					arn = s.RootModule().Resources[res].Primary.Attributes["arn"]
					w, r, err := clusterMembers(ctx, client, "staging")
					if err != nil || w != 1 || r != 1 {
						return fmt.Errorf("members: %d writers, %d readers, %w", w, r, err)
					}
					for k, v := range s.RootModule().Resources[res].Primary.Attributes {
						if strings.Contains(strings.ToLower(k), "password") {
							return fmt.Errorf("state holds %s = %q", k, v)
						}
					}
					return nil
				},
			},
			// Import by identifier.
			{ResourceName: res, ImportState: true, ImportStateId: "staging", ImportStateVerify: true},
			// In place: more readers, another class, protection, and a global database.
			{
				Config: testAccAuroraConfig(a, `
  reader_count              = 2
  instance_class            = "db.r6g.xlarge"
  deletion_protection       = true
  global_cluster_identifier = "pivot-global"
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("instance_ids"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("global_cluster_identifier"), knownvalue.StringExact("pivot-global")),
				},
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources[res].Primary.Attributes["arn"]; got != arn {
						return fmt.Errorf("cluster replaced")
					}
					insts, err := client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
					if err != nil {
						return err
					}
					for _, in := range insts.DBInstances {
						if aws.ToString(in.DBInstanceClass) != "db.r6g.xlarge" {
							return fmt.Errorf("%s has class %s", aws.ToString(in.DBInstanceIdentifier), aws.ToString(in.DBInstanceClass))
						}
					}
					g, err := client.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{})
					if err != nil || len(g.GlobalClusters) != 1 || aws.ToString(g.GlobalClusters[0].GlobalClusterMembers[0].DBClusterArn) != arn {
						return fmt.Errorf("global cluster: %w", err)
					}
					return nil
				},
			},
			// Drift: a reader deleted and protection turned off out of band plan an update that restores them.
			{
				PreConfig: func() {
					if _, err := client.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("staging-3"), SkipFinalSnapshot: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
					if _, err := client.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("staging"), DeletionProtection: aws.Bool(false), ApplyImmediately: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccAuroraConfig(a, `
  reader_count              = 2
  instance_class            = "db.r6g.xlarge"
  deletion_protection       = true
  global_cluster_identifier = "pivot-global"
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if w, r, err := clusterMembers(ctx, client, "staging"); err != nil || w != 1 || r != 2 {
						return fmt.Errorf("members after repair: %d writers, %d readers, %w", w, r, err)
					}
					return nil
				},
			},
			// A protected cluster refuses to be destroyed, and says how to proceed.
			{
				Config:      acctest.ProviderConfig(a.ProviderBlock()),
				ExpectError: regexp.MustCompile(`(?s)Unable To Delete Aurora Cluster.*deletion protection on; set\s+deletion_protection = false`),
			},
			// The override publishes the stand-in's endpoints; leaving the global database is in place.
			{
				Config: testAccAuroraConfig(a, `
  reader_count = 0
  endpoint_override = {
    writer = "127.0.0.1:6543"
  }
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(res, tfjsonpath.New("writer_endpoint"), knownvalue.StringExact("127.0.0.1:6543")),
					plancheck.ExpectKnownValue(res, tfjsonpath.New("reader_endpoint"), knownvalue.StringExact("127.0.0.1:6543")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("global_cluster_identifier"), knownvalue.Null()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("instance_ids"), knownvalue.ListSizeExact(1)),
				},
				Check: func(*terraform.State) error {
					g, err := client.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{})
					if err != nil || len(g.GlobalClusters) != 0 {
						return fmt.Errorf("global cluster left: %w", err)
					}
					return nil
				},
			},
			// Deleted out of band: plans as a create.
			{
				PreConfig: func() {
					if _, err := client.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("staging-1"), SkipFinalSnapshot: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
					if _, err := client.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String("staging"), SkipFinalSnapshot: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
					// Moto keeps a deleted cluster's automated snapshot (RDS deletes
					// it), named by the minute, which would block re-creating the
					// cluster within the same minute.
					snaps, err := client.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterIdentifier: aws.String("staging")})
					if err != nil {
						t.Fatal(err)
					}
					for _, sn := range snaps.DBClusterSnapshots {
						if _, err := client.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: sn.DBClusterSnapshotIdentifier}); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: testAccAuroraConfig(a, `
  endpoint_override = {
    writer = "127.0.0.1:6543"
  }
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccAuroraCluster_validation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body string
		want string
	}{
		"identifier":      {`identifier = "Prod_1"`, `Invalid Cluster Identifier.*must start with a letter and contain only lowercase`},
		"identifier long": {`identifier = "` + strings.Repeat("a", 61) + `"`, `Invalid Cluster Identifier.*1 to 60 characters`},
		"identifier end":  {`identifier = "prod-"`, `Invalid Cluster Identifier.*must not end with a hyphen`},
		"master chars":    {`identifier = "p"` + "\nmaster_username = \"1admin\"", `Invalid Master Username.*starting with a letter`},
		"version":         {`identifier = "p"` + "\nengine_version = \"latest\"", `Invalid Engine Version.*not a version number`},
		"class":           {`identifier = "p"` + "\ninstance_class = \"r6g.large\"", `Invalid Instance Class.*not an RDS class`},
		"readers":         {`identifier = "p"` + "\nreader_count = 16", `reader_count.*value must be between 0 and 15`},
		"master user":     {`identifier = "p"` + "\nmaster_username = \"postgres\"", `Invalid Master Username.*reserved by Aurora PostgreSQL`},
		"global":          {`identifier = "p"` + "\nglobal_cluster_identifier = \"Global_1\"", `Invalid Global Cluster Identifier`},
		"override":        {`identifier = "p"` + "\nendpoint_override = { writer = \"localhost\" }", `Invalid Endpoint.*is not host:port`},
		"serverless max":  {`identifier = "p"` + "\ninstance_class = \"db.serverless\"\nserverless_max_capacity = 512", `serverless_max_capacity.*value must be between 1.* and 256`},
		"serverless min":  {`identifier = "p"` + "\ninstance_class = \"db.serverless\"\nserverless_min_capacity = -1", `serverless_min_capacity.*value must be between 0.* and 256`},
		"override port":   {`identifier = "p"` + "\nendpoint_override = { writer = \"h:1\", reader = \"h:0\" }", `Invalid Endpoint.*no valid port`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig() + "resource \"pivot_aurora_cluster\" \"test\" {\n" + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
