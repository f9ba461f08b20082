// Package ecsdeploytest sets up what a service deployment depends on, in a
// test's own AWS account on the local stack: an ECS cluster, a Cloud Map
// HTTP namespace, the default VPC's network and secret parameters. It calls
// the AWS SDK directly, independently of the code under test.
package ecsdeploytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Env is an environment's shared infrastructure.
type Env struct {
	Cluster       string
	ClusterARN    string
	Namespace     string
	NamespaceARN  string
	Subnet        string
	SecurityGroup string
	AccountID     string
	Region        string
}

// NewEnv creates a cluster and a namespace named name, and finds the
// account's default subnet and security group.
func NewEnv(t testing.TB, cfg aws.Config, name string) Env {
	t.Helper()
	ctx := context.Background()
	cl, err := ecs.NewFromConfig(cfg).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		t.Fatalf("create cluster %s: %v", name, err)
	}
	sd := servicediscovery.NewFromConfig(cfg)
	nsName := name + ".pivot.local"
	if _, err := sd.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String(nsName)}); err != nil {
		t.Fatalf("create namespace %s: %v", nsName, err)
	}
	env := Env{Cluster: name, ClusterARN: aws.ToString(cl.Cluster.ClusterArn), Namespace: nsName, Region: cfg.Region}
	list, err := sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
	if err != nil {
		t.Fatalf("list namespaces: %v", err)
	}
	for _, n := range list.Namespaces {
		if aws.ToString(n.Name) == nsName {
			env.NamespaceARN = aws.ToString(n.Arn)
		}
	}
	env.Subnet, env.SecurityGroup, err = DefaultNetwork(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(env.ClusterARN, ":"); len(parts) > 4 {
		env.AccountID = parts[4]
	}
	return env
}

// PutSecret stores a SecureString parameter.
func PutSecret(t testing.TB, cfg aws.Config, name, value string) {
	t.Helper()
	_, err := ssm.NewFromConfig(cfg).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("put parameter %s: %v", name, err)
	}
}

var (
	subnetRE = regexp.MustCompile(`<subnetId>(subnet-[0-9a-f]+)</subnetId>`)
	groupRE  = regexp.MustCompile(`<groupId>(sg-[0-9a-f]+)</groupId>`)
)

// DefaultNetwork returns a subnet and a security group of the account's
// default VPC, which moto validates ECS network configurations against. It
// speaks the EC2 query API directly, which keeps the EC2 SDK module out of
// the build for two calls.
func DefaultNetwork(ctx context.Context, cfg aws.Config) (subnet, group string, err error) {
	body, err := ec2Query(ctx, cfg, url.Values{"Action": {"DescribeSubnets"}, "Filter.1.Name": {"default-for-az"}, "Filter.1.Value.1": {"true"}})
	if err != nil {
		return "", "", err
	}
	m := subnetRE.FindStringSubmatch(body)
	if m == nil {
		return "", "", fmt.Errorf("no default subnet in %s", body)
	}
	subnet = m[1]
	body, err = ec2Query(ctx, cfg, url.Values{"Action": {"DescribeSecurityGroups"}, "Filter.1.Name": {"group-name"}, "Filter.1.Value.1": {"default"}})
	if err != nil {
		return "", "", err
	}
	g := groupRE.FindStringSubmatch(body)
	if g == nil {
		return "", "", fmt.Errorf("no default security group in %s", body)
	}
	return subnet, g[1], nil
}

func ec2Query(ctx context.Context, cfg aws.Config, q url.Values) (string, error) {
	q.Set("Version", "2016-11-15")
	payload := q.Encode()
	endpoint := aws.ToString(cfg.BaseEndpoint)
	if endpoint == "" {
		endpoint = "https://ec2." + cfg.Region + ".amazonaws.com"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(payload))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("retrieve credentials: %w", err)
	}
	sum := sha256.Sum256([]byte(payload))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", cfg.Region, time.Now()); err != nil {
		return "", fmt.Errorf("sign ec2 request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("ec2 %s: %w", q.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ec2 %s: status %d: %s", q.Get("Action"), resp.StatusCode, b)
	}
	return string(b), nil
}

// RunnableRepository is the image repository of the service tests deploy.
// The local ECS runtime runs an image as the tree's service of the same
// name, so tasks of this repository really start: friend, the service that
// runs with the least (no database, no NATS). RunnableEnv is what it needs.
const RunnableRepository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/friend"

// RunnableEnv is the plain environment friend starts with. Its readiness
// (/health, which the default container health check asks) probes
// messenger's liveness, so MESSENGER_URL points at friend's own port: the
// health check passes when the process serves, and fails when it does not.
// The token key is RS256's public key, which is not a secret, so a test
// is free to choose its secrets.
func RunnableEnv() map[string]string {
	return map[string]string{
		"STAGE":                "staging",
		"MESSENGER_URL":        "http://localhost:8080",
		"JWT_AUDIENCE":         "pivot-tests",
		"JWT_RS256_PUBLIC_KEY": runnablePublicKey,
	}
}

// runnablePublicKey is a 2048-bit RSA public key no test signs with.
const runnablePublicKey = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1OXYg9o0UVLf7EEWRAh
iD8Yy0LKNSXAqJ7tSxWlPF/G69JZ0MapmIyrqZ5a0lGSmXbf82d1xtlYOquLl6r8
MTmzJRcfRlWBGG9Cn4QE7b7Uef0DSnQ2ikLSPLxdNKIB/VqFNOAzljMLUx6hEdnF
1nEey2OOYrl3PHSQIWL4q4SJtl05j6Em3jZ88aWKYulCQ5zwpRinHL/s/P8U+w2T
q6WsTefaTxUgA1nhG7//LYcYKicVzmajhnlR9nm5gnegDrlhY4GfsmBL1tIVlrfG
A0muq2ZoWLqGiAjQ8w9jLBeYZx6dmrPFzULbHUVnSYG7GxPHEqplrmIo+tyOSH+H
/QIDAQAB
-----END PUBLIC KEY-----
`
