package pgdb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/jackc/pgx/v5"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/pgdb"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func newManager(t *testing.T) (*pgdb.Manager, *ssm.Client, string) {
	t.Helper()
	pg := acctest.Postgres(t)
	a := acctest.NewAWS(t)
	client := ssm.NewFromConfig(a.Config(t))
	// As on RDS, the admin is the master user: CREATEROLE and CREATEDB, no
	// superuser.
	return &pgdb.Manager{AdminURL: pg.MasterURL("postgres"), SSM: client}, client, net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port))
}

func uniqueEnv(t *testing.T) string {
	t.Helper()
	return "t" + strings.ToLower(acctest.NewAccountID(t))[6:]
}

// param returns the decrypted parameter value.
func param(t *testing.T, c *ssm.Client, name string) string {
	t.Helper()
	out, err := c.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return aws.ToString(out.Parameter.Value)
}

func connect(ctx context.Context, rawURL string) error {
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// withDatabase points a service URL at another database, keeping its
// credentials: how one service would try to reach another's data.
func withDatabase(t *testing.T, rawURL, db string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

func TestEnsureIsolatesServices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, ssmc, endpoint := newManager(t)
	env := uniqueEnv(t)
	specA := pgdb.Spec{Environment: env, Service: "ledger", WriterEndpoint: endpoint, SSLMode: "disable"}
	specB := pgdb.Spec{Environment: env, Service: "notifier", WriterEndpoint: endpoint, SSLMode: "disable"}
	for _, s := range []pgdb.Spec{specA, specB} {
		if _, err := m.Ensure(ctx, s, false); err != nil {
			t.Fatalf("ensure %s: %v", s.Service, err)
		}
		t.Cleanup(func() { _ = m.Delete(context.Background(), s) })
	}
	urlA := param(t, ssmc, pgdb.ParameterPath(env, "ledger", pgdb.WriterParameter))
	readerA := param(t, ssmc, pgdb.ParameterPath(env, "ledger", pgdb.ReaderParameter))
	urlB := param(t, ssmc, pgdb.ParameterPath(env, "notifier", pgdb.WriterParameter))

	if err := connect(ctx, urlA); err != nil {
		t.Fatalf("ledger cannot use its own database: %v", err)
	}
	if err := connect(ctx, readerA); err != nil {
		t.Fatalf("ledger cannot use its reader URL: %v", err)
	}
	// The role owns its database, so it can create tables there.
	conn, err := pgx.Connect(ctx, urlA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE entries (id bigint PRIMARY KEY)`); err != nil {
		t.Fatalf("owner cannot create a table: %v", err)
	}
	conn.Close(ctx)

	dbB := pgdb.DefaultName(env, "notifier")
	err = connect(ctx, withDatabase(t, urlA, dbB))
	if err == nil || !pgdb.IsPermissionDenied(err) || !strings.Contains(err.Error(), "permission denied for database") {
		t.Fatalf("ledger reached notifier's database: err = %v", err)
	}
	err = connect(ctx, withDatabase(t, urlB, pgdb.DefaultName(env, "ledger")))
	if err == nil || !pgdb.IsPermissionDenied(err) {
		t.Fatalf("notifier reached ledger's database: err = %v", err)
	}
}

// Every update of an existing database (rotation, endpoint, sslmode, limit)
// alters the role; as RDS's master user, which is not a superuser, that must
// not name SUPERUSER or REPLICATION, which PostgreSQL refuses it.
func TestEnsureAsNonSuperuserAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, ssmc, endpoint := newManager(t)
	admin, err := pgx.Connect(ctx, m.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var super, createRole, createDB bool
	if err := admin.QueryRow(ctx, `SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createRole, &createDB); err != nil {
		t.Fatal(err)
	}
	if super || !createRole || !createDB {
		t.Fatalf("admin is not like RDS's master user: superuser=%v createrole=%v createdb=%v", super, createRole, createDB)
	}

	spec := pgdb.Spec{Environment: uniqueEnv(t), Service: "ledger", WriterEndpoint: endpoint, SSLMode: "disable"}
	t.Cleanup(func() { _ = m.Delete(context.Background(), spec) })
	first, err := m.Ensure(ctx, spec, false)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	rotated, err := m.Ensure(ctx, spec, true)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if rotated.PasswordVersion == first.PasswordVersion {
		t.Fatal("rotation kept the password")
	}
	moved := spec
	moved.ReaderEndpoint = "localhost:" + endpoint[strings.LastIndexByte(endpoint, ':')+1:]
	moved.SSLMode = "prefer"
	moved.ConnectionLimit = 4
	st, err := m.Ensure(ctx, moved, false)
	if err != nil {
		t.Fatalf("change endpoint, sslmode and limit: %v", err)
	}
	if st.ReaderEndpoint != moved.ReaderEndpoint || st.SSLMode != "prefer" || st.ConnectionLimit != 4 || st.PasswordVersion != rotated.PasswordVersion {
		t.Fatalf("state after change: %+v", st)
	}
	if err := connect(ctx, param(t, ssmc, st.Reader.Name)); err != nil {
		t.Fatalf("moved reader URL does not work: %v", err)
	}
	if err := m.Delete(ctx, spec); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

func TestEnsureRotatesPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, ssmc, endpoint := newManager(t)
	spec := pgdb.Spec{Environment: uniqueEnv(t), Service: "ledger", WriterEndpoint: endpoint, SSLMode: "disable"}
	t.Cleanup(func() { _ = m.Delete(context.Background(), spec) })
	first, err := m.Ensure(ctx, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	oldURL := param(t, ssmc, first.Writer.Name)

	// Ensure without rotation keeps the password.
	again, err := m.Ensure(ctx, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	if again.PasswordVersion != first.PasswordVersion {
		t.Fatalf("password changed without rotation: %s -> %s", first.PasswordVersion, again.PasswordVersion)
	}
	if err := connect(ctx, oldURL); err != nil {
		t.Fatalf("password stopped working without rotation: %v", err)
	}

	rotated, err := m.Ensure(ctx, spec, true)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.PasswordVersion == first.PasswordVersion {
		t.Fatal("rotation kept the password version")
	}
	if rotated.Writer.Version <= first.Writer.Version {
		t.Fatalf("writer parameter version %d not bumped from %d", rotated.Writer.Version, first.Writer.Version)
	}
	if err := connect(ctx, oldURL); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("old password still works after rotation: %v", err)
	}
	if err := connect(ctx, param(t, ssmc, first.Writer.Name)); err != nil {
		t.Fatalf("new password does not work: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%+v", rotated), mustPassword(t, param(t, ssmc, first.Writer.Name))) {
		t.Fatal("state carries the clear password")
	}
}

func mustPassword(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := u.User.Password()
	return p
}

// Read reports out-of-band changes, and Ensure repairs them.
func TestReadDetectsDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, ssmc, endpoint := newManager(t)
	pg := acctest.Postgres(t)
	spec := pgdb.Spec{Environment: uniqueEnv(t), Service: "ledger", WriterEndpoint: endpoint, SSLMode: "disable", ConnectionLimit: 5}
	t.Cleanup(func() { _ = m.Delete(context.Background(), spec) })
	st, err := m.Ensure(ctx, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Isolated || st.ConnectionLimit != 5 || st.WriterEndpoint != endpoint || st.ReaderEndpoint != endpoint || st.SSLMode != "disable" {
		t.Fatalf("unexpected state %+v", st)
	}
	admin, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	db := pgx.Identifier{st.Database}.Sanitize()
	for _, s := range []string{"GRANT CONNECT ON DATABASE " + db + " TO PUBLIC", "ALTER ROLE " + db + " CONNECTION LIMIT 50"} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	drifted, err := m.Read(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if drifted.Isolated || drifted.ConnectionLimit != 50 {
		t.Fatalf("drift not seen: %+v", drifted)
	}
	repaired, err := m.Ensure(ctx, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	if !repaired.Isolated || repaired.ConnectionLimit != 5 || repaired.PasswordVersion != st.PasswordVersion {
		t.Fatalf("not repaired: %+v", repaired)
	}

	// A deleted parameter reads as gone.
	if _, err := ssmc.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(st.Reader.Name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(ctx, spec); !errors.Is(err, pgdb.ErrNotFound) {
		t.Fatalf("read after parameter delete: %v", err)
	}
}

func TestRenameKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, ssmc, endpoint := newManager(t)
	env := uniqueEnv(t)
	from := pgdb.Spec{Environment: env, Service: "ledger", WriterEndpoint: endpoint, SSLMode: "disable"}
	to := from
	to.Database, to.Role = env+"_books", env+"_books_app"
	t.Cleanup(func() { _ = m.Delete(context.Background(), to); _ = m.Delete(context.Background(), from) })
	st, err := m.Ensure(ctx, from, false)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, param(t, ssmc, st.Writer.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := m.Rename(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	st, err = m.Ensure(ctx, to, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Database != to.Database || st.Role != to.Role {
		t.Fatalf("state %+v", st)
	}
	conn, err = pgx.Connect(ctx, param(t, ssmc, st.Writer.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT id FROM kept`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("data after rename: %d, %v", n, err)
	}
}

func TestDeleteLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, ssmc, endpoint := newManager(t)
	spec := pgdb.Spec{Environment: uniqueEnv(t), Service: "ledger", WriterEndpoint: endpoint, SSLMode: "disable"}
	st, err := m.Ensure(ctx, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	// An open session does not block the drop.
	conn, err := pgx.Connect(ctx, param(t, ssmc, st.Writer.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := m.Delete(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, spec); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := m.Read(ctx, spec); !errors.Is(err, pgdb.ErrNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
	admin, err := pgx.Connect(ctx, acctest.Postgres(t).URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var roles int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, st.Role).Scan(&roles); err != nil || roles != 0 {
		t.Fatalf("role left behind: %d, %v", roles, err)
	}
	for _, p := range []string{st.Writer.Name, st.Reader.Name} {
		if _, err := ssmc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p)}); err == nil {
			t.Fatalf("parameter %s left behind", p)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		spec pgdb.Spec
		want string
	}{
		"reserved name":  {pgdb.Spec{Environment: "e", Service: "s", Database: "postgres", WriterEndpoint: "h:5432"}, `"postgres" is reserved`},
		"pg prefix":      {pgdb.Spec{Environment: "e", Service: "s", Role: "pg_x", WriterEndpoint: "h:5432"}, "prefix reserved"},
		"uppercase":      {pgdb.Spec{Environment: "e", Service: "s", Database: "Ledger", WriterEndpoint: "h:5432"}, "lowercase letters"},
		"too long":       {pgdb.Spec{Environment: "e", Service: "s", Database: strings.Repeat("a", 64), WriterEndpoint: "h:5432"}, "1 to 63"},
		"no port":        {pgdb.Spec{Environment: "e", Service: "s", WriterEndpoint: "host"}, "not host:port"},
		"bad port":       {pgdb.Spec{Environment: "e", Service: "s", WriterEndpoint: "host:99999"}, "no valid port"},
		"sslmode":        {pgdb.Spec{Environment: "e", Service: "s", WriterEndpoint: "h:1", SSLMode: "on"}, `sslmode "on"`},
		"conn limit":     {pgdb.Spec{Environment: "e", Service: "s", WriterEndpoint: "h:1", ConnectionLimit: -2}, "connection limit -2"},
		"missing fields": {pgdb.Spec{WriterEndpoint: "h:1", Database: "a", Role: "b"}, "environment and service are required"},
	}
	for name, tc := range cases {
		if err := tc.spec.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
	if err := (pgdb.Spec{Environment: "staging", Service: "ledger-api", WriterEndpoint: "h:5432"}).Validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	if got := pgdb.DefaultName("acme-prod", "ledger-api"); got != "acme_prod_ledger_api" {
		t.Errorf("DefaultName = %q", got)
	}
}
