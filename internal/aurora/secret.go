package aurora

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// MasterSecretName is the secret holding the master credentials of a
// global database's primary, which RDS does not keep there.
func MasterSecretName(identifier string) string { return "pivot/aurora/" + identifier + "/master" }

// putMasterSecret generates a master password and stores it, with the user
// name, as RDS's own secrets do ({"username", "password"}), before the
// cluster gets it: a password set but not stored would be lost.
func (m *Manager) putMasterSecret(ctx context.Context, spec Spec) (string, error) {
	if m.Secrets == nil {
		return "", errors.New("a cluster in a global database needs a Secrets Manager client for its master password")
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate master password: %w", err)
	}
	// URL-safe base64 avoids the characters RDS refuses in a master
	// password (/, ", @ and space).
	password := base64.RawURLEncoding.EncodeToString(b)
	value, err := json.Marshal(map[string]string{"username": spec.MasterUsername, "password": password})
	if err != nil {
		return "", fmt.Errorf("encode master secret: %w", err)
	}
	name := MasterSecretName(spec.Identifier)
	_, err = m.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:        aws.String(name),
		Description: aws.String("Master credentials of Aurora cluster " + spec.Identifier + " (a global database, where RDS does not manage them); managed by pivot_aurora_cluster."),
		// The account's aws/secretsmanager key: the cluster's storage key
		// need not let Secrets Manager use it.
		SecretString: aws.String(string(value)),
	})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = m.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(value))})
	}
	if err != nil {
		return "", fmt.Errorf("store master password of %s: %w", spec.Identifier, err)
	}
	return password, nil
}

func (m *Manager) masterSecretARN(ctx context.Context, identifier string) (string, error) {
	if m.Secrets == nil {
		return "", nil
	}
	out, err := m.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(MasterSecretName(identifier))})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("describe master secret of %s: %w", identifier, err)
	}
	return aws.ToString(out.ARN), nil
}

func (m *Manager) deleteMasterSecret(ctx context.Context, identifier string) error {
	if m.Secrets == nil {
		return nil
	}
	// Without recovery, so a cluster of the same name can be made again;
	// the cluster it opened is gone.
	_, err := m.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(MasterSecretName(identifier)), ForceDeleteWithoutRecovery: aws.Bool(true)})
	var nf *smtypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete master secret of %s: %w", identifier, err)
	}
	return nil
}
