package provider

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/jackc/pgx/v5"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/pgdb"
)

func testAccServiceDatabaseConfig(a acctest.AWS, pg *localstack.Postgres, env, ledgerExtra string) string {
	return acctest.ProviderConfig(a.ProviderBlock(), acctest.PostgresBlock(pg)) + fmt.Sprintf(`
resource "pivot_service_database" "ledger" {
  environment     = %[1]q
  service         = "ledger"
  writer_endpoint = "127.0.0.1:%[2]d"
  ssl_mode        = "disable"
%[3]s
}

resource "pivot_service_database" "notifier" {
  environment     = %[1]q
  service         = "notifier"
  writer_endpoint = "127.0.0.1:%[2]d"
  ssl_mode        = "disable"
}
`, env, pg.Port, ledgerExtra)
}

// paramValue reads a decrypted parameter with the SDK.
func paramValue(ctx context.Context, c *ssm.Client, name string) (string, error) {
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Parameter.Value), nil
}

func pgConnect(ctx context.Context, rawURL string) error {
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func withDatabasePath(rawURL, db string) string {
	u, _ := url.Parse(rawURL)
	u.Path = "/" + db
	return u.String()
}

// pgAdmin runs statements as the superuser, out of band.
func pgAdmin(t *testing.T, pg *localstack.Postgres, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAccServiceDatabase_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	pg := acctest.Postgres(t)
	ctx := context.Background()
	ssmc := ssm.NewFromConfig(a.Config(t))
	env := "db" + acctest.NewAccountID(t)[:8]
	ledgerDB, notifierDB := pgdb.DefaultName(env, "ledger"), pgdb.DefaultName(env, "notifier")
	writerParam := "/" + env + "/ledger/DATABASE_URL"
	const res = "pivot_service_database.ledger"
	var firstURL, firstVersion string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			conn, err := pgx.Connect(ctx, pg.URL("postgres"))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			var n int
			if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE $1) + (SELECT count(*) FROM pg_roles WHERE rolname LIKE $1)`, env+"_%").Scan(&n); err != nil {
				return err
			}
			params, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/" + env), Recursive: aws.Bool(true)})
			if err != nil {
				return err
			}
			if n > 0 || len(params.Parameters) > 0 {
				return fmt.Errorf("left behind: %d databases/roles, %d parameters", n, len(params.Parameters))
			}
			return nil
		},
		Steps: []resource.TestStep{
			// Create two services' databases: each reaches its own, neither the other's.
			{
				Config: testAccServiceDatabaseConfig(a, pg, env, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("database_name"), knownvalue.StringExact(ledgerDB)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("role_name"), knownvalue.StringExact(ledgerDB)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("isolated"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("writer_url_parameter"), knownvalue.StringExact(writerParam)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("reader_url_parameter_arn"), knownvalue.StringRegexp(regexp.MustCompile(`:parameter/`+env+`/ledger/DATABASE_READER_URL$`))),
				},
				Check: func(s *terraform.State) error {
					ledger, err := paramValue(ctx, ssmc, writerParam)
					if err != nil {
						return err
					}
					notifier, err := paramValue(ctx, ssmc, "/"+env+"/notifier/DATABASE_URL")
					if err != nil {
						return err
					}
					reader, err := paramValue(ctx, ssmc, "/"+env+"/ledger/DATABASE_READER_URL")
					if err != nil {
						return err
					}
					for _, u := range []string{ledger, reader, notifier} {
						if err := pgConnect(ctx, u); err != nil {
							return fmt.Errorf("own database refused: %w", err)
						}
					}
					err = pgConnect(ctx, withDatabasePath(ledger, notifierDB))
					if err == nil || !strings.Contains(err.Error(), "permission denied for database") || !pgdb.IsPermissionDenied(err) {
						return fmt.Errorf("ledger's role reached notifier's database: %w", err)
					}
					err = pgConnect(ctx, withDatabasePath(notifier, ledgerDB))
					if err == nil || !pgdb.IsPermissionDenied(err) {
						return fmt.Errorf("notifier's role reached ledger's database: %w", err)
					}
					// The password is in the parameter only.
					u, _ := url.Parse(ledger)
					pw, _ := u.User.Password()
					for k, v := range s.RootModule().Resources[res].Primary.Attributes {
						if strings.Contains(v, pw) {
							return fmt.Errorf("state attribute %s holds the password", k)
						}
					}
					firstURL = ledger
					firstVersion = s.RootModule().Resources[res].Primary.Attributes["password_version"]
					return nil
				},
			},
			// Import by <environment>/<service>.
			{ResourceName: res, ImportState: true, ImportStateId: env + "/ledger", ImportStateVerify: true},
			// Rotation: the old password stops working, the new one (in SSM) works, and the next plan is empty.
			{
				Config: testAccServiceDatabaseConfig(a, pg, env, `rotation_trigger = "2026-11"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(res, tfjsonpath.New("password_version")),
					plancheck.ExpectResourceAction("pivot_service_database.notifier", plancheck.ResourceActionNoop),
				}},
				Check: func(s *terraform.State) error {
					if v := s.RootModule().Resources[res].Primary.Attributes["password_version"]; v == firstVersion {
						return fmt.Errorf("password_version unchanged after rotation")
					}
					if err := pgConnect(ctx, firstURL); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
						return fmt.Errorf("old password after rotation: %w", err)
					}
					now, err := paramValue(ctx, ssmc, writerParam)
					if err != nil {
						return err
					}
					if now == firstURL {
						return fmt.Errorf("parameter not rewritten")
					}
					return pgConnect(ctx, now)
				},
			},
			// The same trigger again is no change.
			{
				Config:   testAccServiceDatabaseConfig(a, pg, env, `rotation_trigger = "2026-11"`),
				PlanOnly: true,
			},
			// Drift: a grant to PUBLIC and a changed connection limit plan an update that undoes them.
			{
				PreConfig: func() {
					pgAdmin(t, pg, "GRANT CONNECT ON DATABASE "+ledgerDB+" TO PUBLIC", "ALTER ROLE "+ledgerDB+" CONNECTION LIMIT 7")
				},
				Config: testAccServiceDatabaseConfig(a, pg, env, `rotation_trigger = "2026-11"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(res, tfjsonpath.New("isolated"), knownvalue.Bool(true)),
				}},
				Check: func(*terraform.State) error {
					notifier, err := paramValue(ctx, ssmc, "/"+env+"/notifier/DATABASE_URL")
					if err != nil {
						return err
					}
					if err := pgConnect(ctx, withDatabasePath(notifier, ledgerDB)); err == nil || !pgdb.IsPermissionDenied(err) {
						return fmt.Errorf("grant not revoked: %w", err)
					}
					return nil
				},
			},
			// In place: a connection limit and a separate reader endpoint.
			{
				Config: testAccServiceDatabaseConfig(a, pg, env, fmt.Sprintf(`
  rotation_trigger = "2026-11"
  connection_limit = 10
  reader_endpoint  = "localhost:%d"
`, pg.Port)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: func(s *terraform.State) error {
					reader, err := paramValue(ctx, ssmc, "/"+env+"/ledger/DATABASE_READER_URL")
					if err != nil {
						return err
					}
					if !strings.Contains(reader, fmt.Sprintf("@localhost:%d/", pg.Port)) {
						return fmt.Errorf("reader URL not moved")
					}
					return pgConnect(ctx, reader)
				},
			},
			// Dropped out of band: plans as a create.
			{
				PreConfig: func() { pgAdmin(t, pg, "DROP DATABASE "+ledgerDB+" WITH (FORCE)") },
				Config: testAccServiceDatabaseConfig(a, pg, env, fmt.Sprintf(`
  rotation_trigger = "2026-11"
  connection_limit = 10
  reader_endpoint  = "localhost:%d"
`, pg.Port)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccServiceDatabase_validation(t *testing.T) {
	t.Parallel()
	base := func(extra string) string {
		return "environment = \"staging\"\nservice = \"ledger\"\nwriter_endpoint = \"db:5432\"\n" + extra
	}
	cases := map[string]struct {
		body string
		want string
	}{
		"environment":      {"environment = \"Staging\"\nservice = \"ledger\"\nwriter_endpoint = \"db:5432\"", `Invalid Environment Name.*must be a DNS label`},
		"service":          {"environment = \"staging\"\nservice = \"Ledger_API\"\nwriter_endpoint = \"db:5432\"", `Invalid Service Name.*lowercase letters, digits and hyphens`},
		"database":         {base(`database_name = "postgres"`), `Invalid Database Name.*"postgres" is reserved`},
		"database chars":   {base(`database_name = "ledger-db"`), `Invalid Database Name.*only lowercase letters, digits and underscores`},
		"database long":    {base(`database_name = "` + strings.Repeat("a", 64) + `"`), `Invalid Database Name.*1 to 63 characters`},
		"role":             {base(`role_name = "pg_ledger"`), `Invalid Role Name.*prefix reserved`},
		"writer":           {"environment = \"staging\"\nservice = \"ledger\"\nwriter_endpoint = \"db\"", `Invalid Endpoint.*is not host:port`},
		"reader":           {base(`reader_endpoint = "db:70000"`), `Invalid Endpoint.*no valid port`},
		"ssl mode":         {base(`ssl_mode = "on"`), `ssl_mode.*value must be one of`},
		"connection limit": {base(`connection_limit = -2`), `connection_limit.*value must be at least -1`},
		"admin url":        {base(`admin_url = "mysql://root@db/x"`), `Invalid Postgres Admin URL.*postgres://`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig() + "resource \"pivot_service_database\" \"test\" {\n" + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
