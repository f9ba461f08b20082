// Package pgdb gives each service its own PostgreSQL database on the
// environment's (Aurora) cluster: a login role that owns the database, with
// CONNECT revoked from PUBLIC so no other service's role can reach it, and
// the writer and reader connection URLs stored as SecureString parameters at
// /<environment>/<service>/DATABASE_URL and DATABASE_READER_URL, where the
// service's task definition picks them up as secrets.
//
// Passwords never leave this package except inside those parameters: the
// role's password is sent to the server as a SCRAM-SHA-256 verifier (so it
// is not in server logs either), and callers only see a fingerprint.
package pgdb

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound means the database, or a part of it the service needs (its
// role or a connection parameter), does not exist.
var ErrNotFound = errors.New("service database not found")

// Parameter names, relative to /<environment>/<service>/. They are the
// environment variable names the services read.
const (
	WriterParameter = "DATABASE_URL"
	ReaderParameter = "DATABASE_READER_URL"
)

// SSLModes are the libpq sslmode values a connection URL may carry.
var SSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// Spec is one service's database.
type Spec struct {
	Environment string
	Service     string
	// Database and Role default to DefaultName(Environment, Service).
	Database string
	Role     string
	// WriterEndpoint and ReaderEndpoint are host:port as the service reaches
	// the cluster; ReaderEndpoint defaults to WriterEndpoint.
	WriterEndpoint string
	ReaderEndpoint string
	SSLMode        string // default "require"
	// ConnectionLimit caps the role's concurrent connections; -1 is no cap.
	ConnectionLimit int
	// KMSKeyID encrypts the parameters; empty is the account's aws/ssm key.
	KMSKeyID string
}

// State is what exists.
type State struct {
	Database        string
	Role            string
	ConnectionLimit int
	// Isolated is true when no role but the owner (and superusers, which
	// bypass privileges) may connect to the database.
	Isolated bool
	// WriterEndpoint, ReaderEndpoint and SSLMode are read back from the
	// parameters' URLs.
	WriterEndpoint string
	ReaderEndpoint string
	SSLMode        string
	Writer         Parameter
	Reader         Parameter
	// PasswordVersion is a fingerprint of the password in the parameters:
	// it changes when the password does and reveals nothing about it.
	PasswordVersion string
}

// Parameter is one stored connection URL.
type Parameter struct {
	Name    string
	ARN     string
	Version int64
}

// ParameterStore is the part of the SSM API this package uses; *ssm.Client
// satisfies it.
type ParameterStore interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, opts ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
	AddTagsToResource(ctx context.Context, in *ssm.AddTagsToResourceInput, opts ...func(*ssm.Options)) (*ssm.AddTagsToResourceOutput, error)
}

// Manager creates, reads and drops service databases.
type Manager struct {
	// AdminURL reaches the cluster as a role that may create roles and
	// databases: the Aurora master user, which has CREATEROLE and CREATEDB
	// but is not a superuser, or a superuser.
	AdminURL string
	SSM      ParameterStore
}

// DefaultName is the database and role name for a service in an
// environment: both, lowercased, joined by an underscore, with hyphens
// turned into underscores, so names never collide when environments share a
// cluster (as they do on the local platform stack).
func DefaultName(environment, service string) string {
	return strings.ReplaceAll(strings.ToLower(environment+"_"+service), "-", "_")
}

// ParameterPath returns /<environment>/<service>/<name>.
func ParameterPath(environment, service, name string) string {
	return "/" + environment + "/" + service + "/" + name
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ValidateIdentifier checks a database or role name: lowercase letters,
// digits and underscores, not starting with a digit, at most 63 bytes, and
// not one PostgreSQL or Aurora reserves.
func ValidateIdentifier(s string) error {
	switch {
	case len(s) == 0 || len(s) > 63:
		return fmt.Errorf("%q must be 1 to 63 characters long", s)
	case !identRE.MatchString(s):
		return fmt.Errorf("%q may contain only lowercase letters, digits and underscores, and must not start with a digit", s)
	case strings.HasPrefix(s, "pg_") || strings.HasPrefix(s, "rds"):
		return fmt.Errorf("%q uses a prefix reserved by PostgreSQL or Aurora (pg_, rds)", s)
	}
	switch s {
	case "postgres", "template0", "template1", "public", "rdsadmin":
		return fmt.Errorf("%q is reserved by PostgreSQL or Aurora", s)
	}
	return nil
}

// ValidateEndpoint checks host:port.
func ValidateEndpoint(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port (e.g. mycluster.cluster-abc.eu-west-1.rds.amazonaws.com:5432)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no valid port (1-65535)", s)
	}
	return nil
}

// withDefaults fills the defaulted fields.
func (s Spec) withDefaults() Spec {
	if s.Database == "" {
		s.Database = DefaultName(s.Environment, s.Service)
	}
	if s.Role == "" {
		s.Role = DefaultName(s.Environment, s.Service)
	}
	if s.ReaderEndpoint == "" {
		s.ReaderEndpoint = s.WriterEndpoint
	}
	if s.SSLMode == "" {
		s.SSLMode = "require"
	}
	if s.ConnectionLimit == 0 {
		s.ConnectionLimit = -1
	}
	return s
}

// Validate reports every problem with the spec.
func (s Spec) Validate() error {
	s = s.withDefaults()
	var errs []error
	if s.Environment == "" || s.Service == "" {
		errs = append(errs, errors.New("environment and service are required"))
	}
	for _, id := range []string{s.Database, s.Role} {
		if err := ValidateIdentifier(id); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ep := range []string{s.WriterEndpoint, s.ReaderEndpoint} {
		if err := ValidateEndpoint(ep); err != nil {
			errs = append(errs, err)
		}
	}
	if !contains(SSLModes, s.SSLMode) {
		errs = append(errs, fmt.Errorf("sslmode %q is not one of %s", s.SSLMode, strings.Join(SSLModes, ", ")))
	}
	if s.ConnectionLimit < -1 {
		errs = append(errs, fmt.Errorf("connection limit %d must be -1 (no limit) or more", s.ConnectionLimit))
	}
	return errors.Join(errs...)
}

// Ensure makes the database, role, privileges and parameters match spec.
// It adopts a database and role that already exist under the spec's names,
// so it repairs as well as creates. The password is kept when the writer
// parameter still holds one, unless rotate is set or there is none, in which
// case a new one is generated, set on the role and written to both
// parameters.
func (m *Manager) Ensure(ctx context.Context, spec Spec, rotate bool) (State, error) {
	spec = spec.withDefaults()
	if err := spec.Validate(); err != nil {
		return State{}, err
	}
	password := ""
	if !rotate {
		if u, _, err := m.getURL(ctx, ParameterPath(spec.Environment, spec.Service, WriterParameter)); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && u.User.Username() == spec.Role {
				password = p
			}
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return State{}, err
		}
	}
	if password == "" {
		var err error
		if password, err = newPassword(); err != nil {
			return State{}, err
		}
	}

	conn, err := pgx.Connect(ctx, m.AdminURL)
	if err != nil {
		return State{}, fmt.Errorf("connect as admin: %w", err)
	}
	defer closeConn(ctx, conn)

	if err := ensureRole(ctx, conn, spec, password); err != nil {
		return State{}, err
	}
	if err := ensureDatabase(ctx, conn, spec); err != nil {
		return State{}, err
	}
	for _, p := range []struct{ name, endpoint string }{
		{WriterParameter, spec.WriterEndpoint},
		{ReaderParameter, spec.ReaderEndpoint},
	} {
		if err := m.putURL(ctx, spec, p.name, connURL(spec.Role, password, p.endpoint, spec.Database, spec.SSLMode)); err != nil {
			return State{}, err
		}
	}
	return m.read(ctx, conn, spec)
}

// Read reports what exists for spec (only its names are used), or
// ErrNotFound when the database, its owner role or a parameter is missing.
func (m *Manager) Read(ctx context.Context, spec Spec) (State, error) {
	spec = spec.withDefaults()
	conn, err := pgx.Connect(ctx, m.AdminURL)
	if err != nil {
		return State{}, fmt.Errorf("connect as admin: %w", err)
	}
	defer closeConn(ctx, conn)
	return m.read(ctx, conn, spec)
}

func (m *Manager) read(ctx context.Context, conn *pgx.Conn, spec Spec) (State, error) {
	st := State{Database: spec.Database}
	var owner string
	err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, spec.Database).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return State{}, ErrNotFound
	}
	if err != nil {
		return State{}, fmt.Errorf("read database %s: %w", spec.Database, err)
	}
	// The owner is the role the service logs in as; a database handed to
	// another role shows up as a changed role name.
	st.Role = owner
	err = conn.QueryRow(ctx, `SELECT rolconnlimit FROM pg_roles WHERE rolname = $1`, owner).Scan(&st.ConnectionLimit)
	if err != nil {
		return State{}, fmt.Errorf("read role %s: %w", owner, err)
	}
	// Isolation holds when no grantee but the owner has CONNECT, PUBLIC
	// (grantee 0) included. A NULL datacl means the default ACL, which
	// grants CONNECT to PUBLIC.
	err = conn.QueryRow(ctx, `
SELECT d.datacl IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM aclexplode(d.datacl) a
  WHERE a.privilege_type = 'CONNECT' AND a.grantee <> d.datdba)
FROM pg_database d WHERE d.datname = $1`, spec.Database).Scan(&st.Isolated)
	if err != nil {
		return State{}, fmt.Errorf("read privileges of %s: %w", spec.Database, err)
	}

	urls, params, err := m.getURLs(ctx, ParameterPath(spec.Environment, spec.Service, WriterParameter), ParameterPath(spec.Environment, spec.Service, ReaderParameter))
	if err != nil {
		return State{}, err
	}
	wu, wp, ru, rp := urls[0], params[0], urls[1], params[1]
	st.Writer, st.Reader = wp, rp
	st.WriterEndpoint, st.ReaderEndpoint = wu.Host, ru.Host
	st.SSLMode = wu.Query().Get("sslmode")
	if wu.User != nil {
		if p, ok := wu.User.Password(); ok {
			st.PasswordVersion = fingerprint(p)
		}
	}
	return st, nil
}

// Rename moves a service's database and role to new names in place, so a
// rename keeps the data. Ensure must follow, to rewrite the parameters with
// the new names. PostgreSQL refuses to rename a database with open
// sessions; the error says so.
func (m *Manager) Rename(ctx context.Context, from, to Spec) error {
	from, to = from.withDefaults(), to.withDefaults()
	if from.Database == to.Database && from.Role == to.Role {
		return nil
	}
	conn, err := pgx.Connect(ctx, m.AdminURL)
	if err != nil {
		return fmt.Errorf("connect as admin: %w", err)
	}
	defer closeConn(ctx, conn)
	if from.Database != to.Database {
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(from.Database)+" RENAME TO "+ident(to.Database)); err != nil {
			return fmt.Errorf("rename database %s to %s (stop the service's tasks first if sessions are open): %w", from.Database, to.Database, err)
		}
	}
	if from.Role != to.Role {
		if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(from.Role)+" RENAME TO "+ident(to.Role)); err != nil {
			return fmt.Errorf("rename role %s to %s: %w", from.Role, to.Role, err)
		}
	}
	return nil
}

// Delete drops the database (closing its sessions), the role and the
// parameters. Anything already gone is skipped.
func (m *Manager) Delete(ctx context.Context, spec Spec) error {
	spec = spec.withDefaults()
	conn, err := pgx.Connect(ctx, m.AdminURL)
	if err != nil {
		return fmt.Errorf("connect as admin: %w", err)
	}
	defer closeConn(ctx, conn)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(spec.Database)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", spec.Database, err)
	}
	if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident(spec.Role)); err != nil {
		return fmt.Errorf("drop role %s: %w", spec.Role, err)
	}
	for _, name := range []string{WriterParameter, ReaderParameter} {
		p := ParameterPath(spec.Environment, spec.Service, name)
		_, err := m.SSM.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(p)})
		if err != nil && !isParameterNotFound(err) {
			return fmt.Errorf("delete parameter %s: %w", p, err)
		}
	}
	return nil
}

// ensureRole creates the role or resets its attributes and password, so the
// password in the parameters is the one that works even after an
// out-of-band ALTER ROLE.
//
// The admin may be RDS's master user, which has CREATEROLE and CREATEDB but
// is not a superuser: PostgreSQL refuses it any ALTER ROLE that names
// SUPERUSER, REPLICATION or BYPASSRLS, even to turn them off. So an existing
// role is altered only in what a CREATEROLE admin may change, and those
// three are named only when the role has them (which only a superuser can
// undo, and only a superuser could have set).
func ensureRole(ctx context.Context, conn *pgx.Conn, spec Spec, password string) error {
	verifier, err := scramVerifier(password)
	if err != nil {
		return err
	}
	var super, replication, bypassRLS bool
	err = conn.QueryRow(ctx, `SELECT rolsuper, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1`, spec.Role).
		Scan(&super, &replication, &bypassRLS)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("look up role %s: %w", spec.Role, err)
	}
	var stmt string
	if !exists {
		stmt = "CREATE ROLE " + ident(spec.Role) + " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
	} else {
		stmt = "ALTER ROLE " + ident(spec.Role) + " WITH LOGIN NOCREATEDB NOCREATEROLE"
		for _, a := range []struct {
			on   bool
			word string
		}{{super, " NOSUPERUSER"}, {replication, " NOREPLICATION"}, {bypassRLS, " NOBYPASSRLS"}} {
			if a.on {
				stmt += a.word
			}
		}
	}
	stmt += fmt.Sprintf(" CONNECTION LIMIT %d PASSWORD ", spec.ConnectionLimit) + literal(verifier)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("set up role %s: %w", spec.Role, err)
	}
	// Aurora's master user is not a superuser: it may only create a database
	// owned by (and later drop) a role it is a member of. From PostgreSQL 16
	// the creator's automatic membership has neither SET nor INHERIT, so the
	// grant is needed there too.
	var adminSuper bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&adminSuper); err != nil {
		return fmt.Errorf("check admin role: %w", err)
	}
	if !adminSuper {
		if _, err := conn.Exec(ctx, "GRANT "+ident(spec.Role)+" TO CURRENT_USER"); err != nil {
			return fmt.Errorf("grant role %s to admin: %w", spec.Role, err)
		}
	}
	return nil
}

func ensureDatabase(ctx context.Context, conn *pgx.Conn, spec Spec) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, spec.Database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", spec.Database, err)
	}
	// CREATE DATABASE cannot run in a transaction block, so these are
	// separate statements; each is idempotent, so a retry converges.
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(spec.Database)+" OWNER "+ident(spec.Role)); err != nil {
			return fmt.Errorf("create database %s: %w", spec.Database, err)
		}
	} else if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(spec.Database)+" OWNER TO "+ident(spec.Role)); err != nil {
		return fmt.Errorf("set owner of database %s: %w", spec.Database, err)
	}
	// Revoking from PUBLIC leaves the owner's implicit rights; revoking from
	// every other grantee undoes out-of-band grants, so the service's role is
	// the only one (besides superusers) that can connect.
	rows, err := conn.Query(ctx, `
SELECT DISTINCT pg_get_userbyid(a.grantee) FROM pg_database d, aclexplode(d.datacl) a
WHERE d.datname = $1 AND a.grantee <> 0 AND a.grantee <> d.datdba`, spec.Database)
	if err != nil {
		return fmt.Errorf("list grantees of %s: %w", spec.Database, err)
	}
	grantees, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list grantees of %s: %w", spec.Database, err)
	}
	stmts := []string{"REVOKE ALL ON DATABASE " + ident(spec.Database) + " FROM PUBLIC"}
	for _, g := range grantees {
		stmts = append(stmts, "REVOKE ALL ON DATABASE "+ident(spec.Database)+" FROM "+ident(g))
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("set privileges on %s: %w", spec.Database, err)
		}
	}
	return nil
}

func (m *Manager) putURL(ctx context.Context, spec Spec, name, value string) error {
	p := ParameterPath(spec.Environment, spec.Service, name)
	in := &ssm.PutParameterInput{
		Name:        aws.String(p),
		Value:       aws.String(value),
		Type:        ssmtypes.ParameterTypeSecureString,
		Overwrite:   aws.Bool(true),
		Description: aws.String(fmt.Sprintf("Connection URL of %s's database (%s); managed by pivot_service_database.", spec.Service, name)),
	}
	if spec.KMSKeyID != "" {
		in.KeyId = aws.String(spec.KMSKeyID)
	}
	if _, err := m.SSM.PutParameter(ctx, in); err != nil {
		return fmt.Errorf("write parameter %s: %w", p, err)
	}
	// Tags cannot accompany Overwrite, so they follow separately.
	_, err := m.SSM.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter,
		ResourceId:   aws.String(p),
		Tags: []ssmtypes.Tag{
			{Key: aws.String("pivot:environment"), Value: aws.String(spec.Environment)},
			{Key: aws.String("pivot:service"), Value: aws.String(spec.Service)},
		},
	})
	if err != nil {
		return fmt.Errorf("tag parameter %s: %w", p, err)
	}
	return nil
}

// getURLs is getURL for several parameters in one call, as every refresh
// reads both of a database's URLs.
func (m *Manager) getURLs(ctx context.Context, names ...string) ([]*url.URL, []Parameter, error) {
	out, err := m.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, nil, fmt.Errorf("read parameters %s: %w", strings.Join(names, ", "), err)
	}
	got := make(map[string]ssmtypes.Parameter, len(out.Parameters))
	for _, p := range out.Parameters {
		got[aws.ToString(p.Name)] = p
	}
	urls, params := make([]*url.URL, len(names)), make([]Parameter, len(names))
	for i, name := range names {
		p, ok := got[name]
		if !ok {
			return nil, nil, fmt.Errorf("parameter %s: %w", name, ErrNotFound)
		}
		u, err := url.Parse(aws.ToString(p.Value))
		if err != nil {
			// The value is a secret, so the parse error (which quotes it) is
			// not passed on.
			return nil, nil, fmt.Errorf("parameter %s does not hold a connection URL", name)
		}
		urls[i], params[i] = u, Parameter{Name: name, ARN: aws.ToString(p.ARN), Version: p.Version}
	}
	return urls, params, nil
}

func (m *Manager) getURL(ctx context.Context, name string) (*url.URL, Parameter, error) {
	out, err := m.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if isParameterNotFound(err) {
		return nil, Parameter{}, fmt.Errorf("parameter %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, Parameter{}, fmt.Errorf("read parameter %s: %w", name, err)
	}
	p := out.Parameter
	u, err := url.Parse(aws.ToString(p.Value))
	if err != nil {
		// The value is a secret, so the parse error (which quotes it) is
		// not passed on.
		return nil, Parameter{}, fmt.Errorf("parameter %s does not hold a connection URL", name)
	}
	return u, Parameter{Name: name, ARN: aws.ToString(p.ARN), Version: p.Version}, nil
}

func connURL(user, password, endpoint, database, sslmode string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: endpoint, Path: "/" + database,
		RawQuery: url.Values{"sslmode": {sslmode}}.Encode()}
	return u.String()
}

func isParameterNotFound(err error) bool {
	var nf *ssmtypes.ParameterNotFound
	return errors.As(err, &nf)
}

// IsPermissionDenied reports whether err is PostgreSQL's refusal to let a
// role connect to (or act on) a database.
func IsPermissionDenied(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501"
}

// closeConn ends an admin session; a failure to close has no better
// handling than dropping the connection, which Close does anyway.
func closeConn(ctx context.Context, conn *pgx.Conn) { _ = conn.Close(context.WithoutCancel(ctx)) }

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// newPassword returns 32 random bytes in URL-safe base64: nothing in it
// needs escaping in a URL or a SQL literal.
func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func fingerprint(password string) string {
	sum := sha256.Sum256([]byte("pivot-pgdb-password:" + password))
	return hex.EncodeToString(sum[:8])
}

// scramVerifier computes what PostgreSQL stores for a SCRAM-SHA-256
// password (RFC 5802/7677), as psql's \password does, so the clear password
// never reaches the server.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("generate salt: %w", err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("derive password key: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
