package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gruntwork-io/terratest/modules/terraform"
)

const fixtureHeader = `terraform {
  required_providers {
    pivot = { source = "pivotapp/pivot" }
  }
}

provider "pivot" {}

`

// TestModuleInputValidation plans small roots that call the modules with
// bad inputs and checks each is refused at plan time, before anything is
// created, with a message that names the input and the fix.
func TestModuleInputValidation(t *testing.T) {
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	cliConfig := buildProvider(t)
	modules := filepath.Join(repoRoot(), "modules")

	environment := func(args string) string {
		return `module "environment" {
  source = "` + filepath.Join(modules, "environment") + `"
` + args + `
}`
	}
	const validDeclaration = `{
    name             = "messenger"
    image_repository = "pivot/messenger"
    image_tag        = "7c2231421704b83cf6a1904f03c614e0396b0a76"
    cpu              = 256
    memory           = 512
    ports            = [{ name = "grpc", container_port = 8080 }]
  }`
	const validEnvironment = `{
    name       = "staging"
    stage      = "staging"
    cluster    = "staging"
    namespace  = "staging"
    subnet_ids = ["subnet-00000001"]
  }`
	service := func(declaration, environment, extra string) string {
		return `module "service" {
  source      = "` + filepath.Join(modules, "service") + `"
  declaration = ` + declaration + `
  environment = ` + environment + `
` + extra + `
}`
	}

	cases := map[string]struct {
		config string
		want   string
	}{
		"environment name": {
			config: environment(`name = "Staging"
  nats = { url = "nats://127.0.0.1:4222" }`),
			want: "The name must be 2 to 24 lowercase letters",
		},
		"environment stage local": {
			config: environment(`name = "staging"
  stage = "local"
  nats = { url = "nats://127.0.0.1:4222" }`),
			want: "STAGE=local turns on gRPC reflection",
		},
		"environment nats url": {
			config: environment(`name = "staging"
  nats = { url = "http://nats:4222" }`),
			want: "nats.url must be one or more comma-separated NATS URLs",
		},
		"environment nats url and managed": {
			config: environment(`name = "staging"
  nats = { url = "nats://127.0.0.1:4222", managed = true }`),
			want: "Set exactly one of nats.url",
		},
		"environment ingress without zone": {
			config: environment(`name = "staging"
  nats = { url = "nats://127.0.0.1:4222" }
  create_ingress = true`),
			want: "create_ingress needs public_zone",
		},
		"environment stream subjects outside owner": {
			config: environment(`name = "staging"
  nats = { url = "nats://127.0.0.1:4222" }
  streams = { ORDERS = { owner = "orders", subjects = ["payments.>"] } }`),
			want: "must all start with \"<owner>.\"",
		},
		"service image tag": {
			config: service(validDeclaration, validEnvironment, `image_tag = "not a tag"`),
			want:   "image_tag must be an image tag",
		},
		"service cpu": {
			config: service(validDeclaration, validEnvironment, `cpu = 300`),
			want:   "cpu must be a Fargate CPU size",
		},
		"service public hostname": {
			config: service(strings.Replace(validDeclaration, `ports `, `public_hostname = "friend.pivot.app"
    ports `, 1), validEnvironment, ""),
			want: "declaration.public_hostname is the hostname's first label",
		},
		"service database without cluster": {
			config: service(strings.Replace(validDeclaration, `ports `, `database = true
    ports `, 1), validEnvironment, ""),
			want: "declares database = true, but environment staging has no database",
		},
		"service autoscaling range": {
			config: service(validDeclaration, validEnvironment, `autoscaling = { min_capacity = 4, max_capacity = 2 }`),
			want:   "autoscaling.min_capacity must not be greater than autoscaling.max_capacity",
		},
		"service bucket name": {
			config: service(validDeclaration, validEnvironment, `bucket_name = "Not_A_Bucket"`),
			want:   "bucket_name must be 3 to 63 lowercase letters",
		},
		"service public hostname without ingress": {
			config: service(strings.Replace(validDeclaration, `ports `, `public_hostname = "friend"
    ports `, 1), validEnvironment, ""),
			want: "declares public_hostname, but environment staging has no ingress",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := fixtureHeader + tc.config + "\n"
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := &terraform.Options{
				TerraformDir:    dir,
				TerraformBinary: terraformBinary(),
				NoColor:         true,
				EnvVars: map[string]string{
					"TF_CLI_CONFIG_FILE": cliConfig, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
					// Nothing may be reached: the plan must stop at the inputs.
					"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
				},
			}
			out, err := terraform.InitAndPlanE(t, opts)
			if err == nil {
				t.Fatalf("plan succeeded; want an error containing %q", tc.want)
			}
			if !strings.Contains(strings.Join(strings.Fields(out+" "+err.Error()), " "), tc.want) {
				t.Errorf("plan failed without %q:\n%s", tc.want, out)
			}
		})
	}
}
