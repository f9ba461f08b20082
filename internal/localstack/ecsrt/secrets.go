package ecsrt

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/pivotapp/platform/internal/iampolicy"
)

// ECS's agent reads a task's secrets with the task's execution role before
// any container starts. Moto stores IAM policies but enforces none, so the
// runtime evaluates the role's policy documents itself with
// internal/iampolicy: identity policies only (inline and attached); the
// request carries no condition keys, so conditions are taken as met. The reasons are the ones ECS gives
// (a ResourceInitializationError), so a failed deployment explains itself
// here as it would on AWS.

const secretsReasonPrefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): "

// stopError is a task failure with the reason and code ECS reports.
type stopError struct {
	code   ecstypes.TaskStopCode
	reason string
}

func (e *stopError) Error() string { return e.reason }

func startFailure(reason string) *stopError {
	return &stopError{code: ecstypes.TaskStopCodeTaskFailedToStart, reason: reason}
}

// resolveSecrets returns the values of a container's secrets, read as its
// execution role may.
func resolveSecrets(ctx context.Context, cfg aws.Config, account, executionRoleARN string, secrets []ecstypes.Secret) (map[string]string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	if executionRoleARN == "" {
		return nil, startFailure("ClientException: Fargate requires task definition to have execution role ARN to support ECS secrets.")
	}
	docs, err := rolePolicies(ctx, iam.NewFromConfig(cfg), executionRoleARN)
	if err != nil {
		return nil, err
	}
	names := map[string]string{} // parameter name -> env name
	var order []string
	for _, s := range secrets {
		ref := aws.ToString(s.ValueFrom)
		arn, name := parameterARN(cfg.Region, account, ref)
		if !iampolicy.IdentityAllows(docs, iampolicy.Request{Action: "ssm:GetParameters", Resource: arn}) {
			session := path.Base(executionRoleARN)
			return nil, startFailure(fmt.Sprintf("%sAccessDeniedException: User: arn:aws:sts::%s:assumed-role/%s/ecs-task is not authorized to perform: ssm:GetParameters on resource: %s because no identity-based policy allows the ssm:GetParameters action", secretsReasonPrefix, account, session, arn))
		}
		names[name] = aws.ToString(s.Name)
		order = append(order, name)
	}
	client := ssm.NewFromConfig(cfg)
	values := map[string]string{}
	var invalid []string
	for start := 0; start < len(order); start += 10 { // GetParameters takes at most 10 names
		batch := order[start:min(start+10, len(order))]
		out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, startFailure(secretsReasonPrefix + err.Error())
		}
		for _, p := range out.Parameters {
			values[names[aws.ToString(p.Name)]] = aws.ToString(p.Value)
		}
		invalid = append(invalid, out.InvalidParameters...)
	}
	if len(invalid) > 0 {
		return nil, startFailure(secretsReasonPrefix + "invalid ssm parameters: " + strings.Join(invalid, " "))
	}
	return values, nil
}

// parameterARN returns the ARN and name a secret's valueFrom refers to: an
// ARN, or a parameter name in the task's own account and region.
func parameterARN(region, account, ref string) (arn, name string) {
	if strings.HasPrefix(ref, "arn:") {
		_, rest, _ := strings.Cut(ref, ":parameter")
		return ref, rest
	}
	name = ref
	if !strings.HasPrefix(name, "/") {
		return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", region, account, name), name
	}
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", region, account, name), name
}

// rolePolicies loads the identity policies of a role: inline and attached.
func rolePolicies(ctx context.Context, client *iam.Client, roleARN string) ([]iampolicy.Document, error) {
	role := path.Base(roleARN)
	var raw []string
	inline := iam.NewListRolePoliciesPaginator(client, &iam.ListRolePoliciesInput{RoleName: &role})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, startFailure(fmt.Sprintf("ECS was unable to assume the role '%s' that was provided for this task: %v", roleARN, err))
		}
		for _, name := range page.PolicyNames {
			p, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &role, PolicyName: aws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("read policy %s of role %s: %w", name, role, err)
			}
			raw = append(raw, aws.ToString(p.PolicyDocument))
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(client, &iam.ListAttachedRolePoliciesInput{RoleName: &role})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list attached policies of role %s: %w", role, err)
		}
		for _, ap := range page.AttachedPolicies {
			p, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
			if err != nil {
				// AWS-managed policies are not in moto's accounts; the
				// execution role's own grants are what the runtime checks.
				continue
			}
			v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: p.Policy.DefaultVersionId})
			if err != nil {
				return nil, fmt.Errorf("read policy %s: %w", aws.ToString(ap.PolicyArn), err)
			}
			raw = append(raw, aws.ToString(v.PolicyVersion.Document))
		}
	}
	docs := make([]iampolicy.Document, 0, len(raw))
	for _, r := range raw {
		// IAM returns documents URL-encoded; Parse decodes them.
		d, err := iampolicy.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("parse policy of role %s: %w", role, err)
		}
		docs = append(docs, d)
	}
	return docs, nil
}
