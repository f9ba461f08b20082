// Package iamscope writes the least-privilege IAM policy documents of one
// service in one environment: its ECS task execution role (what the ECS agent
// needs to start the task) and its task role (what the service's code may
// touch). Every statement names the service's own resources; nothing is
// granted on "*" unless the API has no resource-level permissions.
package iamscope

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Scope is everything a service's policies are scoped to.
type Scope struct {
	Partition   string // "aws" unless empty
	Region      string
	AccountID   string
	Environment string
	Service     string
	// LogGroup is the CloudWatch log group the service writes to, or empty
	// when its logs go elsewhere.
	LogGroup string
	// Image is the container image reference; an ECR image grants pull on
	// its repository only.
	Image string
	// Bucket optionally grants the task read/write on one S3 bucket.
	Bucket string
	// PlatformSecrets are names under /<environment>/_platform/ the
	// service's tasks get as secrets (NATS_PASSWORD): the execution role may
	// read exactly those, not the whole folder.
	PlatformSecrets []string
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// JSON renders the document compactly, as IAM stores it.
func (d Document) JSON() string {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // only strings and maps: cannot fail
	}
	return string(b)
}

// ParseDocument reads a document IAM returned (GetRolePolicy answers it
// URL-encoded; decode first).
func ParseDocument(s string) (Document, error) {
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return Document{}, fmt.Errorf("parse policy document: %w", err)
	}
	return d, nil
}

func (s Scope) partition() string {
	if s.Partition == "" {
		return "aws"
	}
	return s.Partition
}

// ParameterPath is the service's Parameter Store folder, /<env>/<service>.
func (s Scope) ParameterPath() string {
	return "/" + s.Environment + "/" + s.Service
}

// ParameterARN is the ARN of one of the service's parameters.
func (s Scope) ParameterARN(key string) string {
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s/%s", s.partition(), s.Region, s.AccountID, s.ParameterPath(), key)
}

// PlatformParameterARN is the ARN of one of the environment's platform
// parameters, /<environment>/_platform/<key>.
func (s Scope) PlatformParameterARN(key string) string {
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s/_platform/%s", s.partition(), s.Region, s.AccountID, s.Environment, key)
}

// FolderARN is the ARN of the service's parameter folder itself.
func (s Scope) FolderARN() string {
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s", s.partition(), s.Region, s.AccountID, s.ParameterPath())
}

// ParametersARN matches every parameter under the service's folder.
func (s Scope) ParametersARN() string { return s.ParameterARN("*") }

// LogGroupARN matches the log group's streams.
func (s Scope) LogGroupARN() string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", s.partition(), s.Region, s.AccountID, s.LogGroup)
}

// TrustPolicy lets ECS tasks of this account, and only of this account,
// assume a role (the SourceAccount condition prevents confused deputies).
func TrustPolicy(accountID string) Document {
	return Document{Version: "2012-10-17", Statement: []Statement{{
		Effect:    "Allow",
		Principal: map[string]string{"Service": "ecs-tasks.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": accountID}},
	}}}
}

// ExecutionPolicy is what the ECS agent needs to start the service's tasks:
// read its own secrets, pull its image, write the log router's logs.
func ExecutionPolicy(s Scope) Document {
	st := []Statement{
		{
			Sid:      "ReadOwnSecrets",
			Effect:   "Allow",
			Action:   []string{"ssm:GetParameters"},
			Resource: []string{s.ParametersARN()},
		},
		s.decrypt(),
	}
	if len(s.PlatformSecrets) > 0 {
		var arns []string
		for _, k := range s.PlatformSecrets {
			arns = append(arns, s.PlatformParameterARN(k))
		}
		st = append(st, Statement{Sid: "ReadPlatformSecrets", Effect: "Allow", Action: []string{"ssm:GetParameters"}, Resource: arns})
		// A customer-managed key decrypts a parameter only for a caller the
		// key allows in its encryption context: one grant per parameter,
		// since a condition holds one value here.
		for i, arn := range arns {
			d := s.decrypt()
			d.Sid = fmt.Sprintf("DecryptPlatformSecret%d", i+1)
			d.Condition = map[string]map[string]string{
				"StringEquals": {"kms:ViaService": "ssm." + s.Region + ".amazonaws.com", "kms:EncryptionContext:PARAMETER_ARN": arn},
			}
			st = append(st, d)
		}
	}
	if repo, ok := ECRRepositoryARN(s.Image, s.partition()); ok {
		st = append(st,
			// GetAuthorizationToken has no resource-level permissions.
			Statement{Sid: "ECRAuth", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
			Statement{
				Sid:      "PullOwnImage",
				Effect:   "Allow",
				Action:   []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
				Resource: []string{repo},
			})
	}
	if s.LogGroup != "" {
		st = append(st, s.writeLogs())
	}
	return Document{Version: "2012-10-17", Statement: st}
}

// TaskPolicy is what the service's own code may do: read its parameters,
// use its bucket, and (through the FireLens router, which runs with the task
// role) write its log group.
func TaskPolicy(s Scope) Document {
	st := []Statement{
		{
			Sid:    "ReadOwnParameters",
			Effect: "Allow",
			Action: []string{"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"},
			// The folder itself is the resource of GetParametersByPath.
			Resource: []string{s.FolderARN(), s.ParametersARN()},
		},
		s.decrypt(),
	}
	if s.Bucket != "" {
		b := fmt.Sprintf("arn:%s:s3:::%s", s.partition(), s.Bucket)
		st = append(st,
			Statement{Sid: "ListOwnBucket", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{b}},
			Statement{Sid: "UseOwnBucketObjects", Effect: "Allow", Action: []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"}, Resource: []string{b + "/*"}},
		)
	}
	if s.LogGroup != "" {
		st = append(st, s.writeLogs())
	}
	return Document{Version: "2012-10-17", Statement: st}
}

// decrypt allows KMS decryption only on Parameter Store's behalf and only
// for this service's parameters (SSM puts the parameter ARN in the
// encryption context).
func (s Scope) decrypt() Statement {
	return Statement{
		Sid:      "DecryptOwnSecrets",
		Effect:   "Allow",
		Action:   []string{"kms:Decrypt"},
		Resource: []string{fmt.Sprintf("arn:%s:kms:%s:%s:key/*", s.partition(), s.Region, s.AccountID)},
		Condition: map[string]map[string]string{
			"StringEquals": {"kms:ViaService": "ssm." + s.Region + ".amazonaws.com"},
			"StringLike":   {"kms:EncryptionContext:PARAMETER_ARN": s.ParametersARN()},
		},
	}
}

func (s Scope) writeLogs() Statement {
	return Statement{
		Sid:      "WriteOwnLogs",
		Effect:   "Allow",
		Action:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		Resource: []string{s.LogGroupARN()},
	}
}

// ECRRepositoryARN returns the repository ARN of an ECR image reference
// (<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]); ok is
// false for images hosted elsewhere.
func ECRRepositoryARN(image, partition string) (arn string, ok bool) {
	if partition == "" {
		partition = "aws"
	}
	host, repo, found := strings.Cut(image, "/")
	if !found {
		return "", false
	}
	labels := strings.Split(host, ".")
	if len(labels) < 6 || labels[1] != "dkr" || labels[2] != "ecr" || !strings.HasPrefix(labels[4], "amazonaws") {
		return "", false
	}
	if i := strings.IndexAny(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i >= 0 {
		repo = repo[:i]
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, labels[3], labels[0], repo), true
}
