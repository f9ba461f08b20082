package localstack

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// PutSecret stores a SecureString parameter in one of the stack's accounts,
// reached by assume-role like every other account on the stack.
func PutSecret(ctx context.Context, e Endpoints, account, name, value string) error {
	if !awsx.IsAccountID(account) {
		return fmt.Errorf("account %q is not a 12-digit AWS account ID", account)
	}
	cfg, err := accountConfig(ctx, e, account)
	if err != nil {
		return err
	}
	_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("put parameter %s: %w", name, err)
	}
	return nil
}

// GetSecret reads a SecureString parameter of one of the stack's accounts.
func GetSecret(ctx context.Context, e Endpoints, account, name string) (string, error) {
	cfg, err := accountConfig(ctx, e, account)
	if err != nil {
		return "", err
	}
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("get parameter %s: %w", name, err)
	}
	return aws.ToString(out.Parameter.Value), nil
}

// AccountConfig acts in one of the stack's accounts, by assume-role.
func AccountConfig(ctx context.Context, e Endpoints, account string) (aws.Config, error) {
	return accountConfig(ctx, e, account)
}

func accountConfig(ctx context.Context, e Endpoints, account string) (aws.Config, error) {
	s := awsx.NewSessions(awsx.Config{Region: Region, Endpoint: e.AWS, AccessKey: AccessKeyID, SecretKey: SecretAccessKey,
		AssumeRole: &awsx.AssumeRole{RoleARN: fmt.Sprintf("arn:aws:iam::%s:role/pivot-local", account)}})
	return s.For(ctx, awsx.Target{})
}
