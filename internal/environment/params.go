package environment

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// Parameter is one platform parameter as it is.
type Parameter struct {
	Name    string
	ARN     string
	Secure  bool
	Version int64
	value   string // never leaves the package for generated secrets
}

// platformParamNames are every parameter the environment may own, so those
// no longer wanted are removed.
var platformParamNames = []string{ParamStage, ParamOTLPEndpoint, ParamNATSURL, ParamNATSUser, ParamNATSPassword, ParamNATSCredential}

type paramValue struct {
	value  string
	secure bool
	// generated values are kept once written: the managed NATS password.
	generated bool
}

// wantedParams derives the platform parameters of a spec.
func wantedParams(spec Spec) map[string]paramValue {
	out := map[string]paramValue{
		ParamStage:        {value: spec.Stage},
		ParamOTLPEndpoint: {value: OTLPEndpoint()},
	}
	n := spec.NATS
	switch {
	case n.Managed:
		out[ParamNATSURL] = paramValue{value: ManagedNATSURL(n.Replicas)}
		out[ParamNATSUser] = paramValue{value: ManagedNATSUser}
		out[ParamNATSPassword] = paramValue{secure: true, generated: true}
	default:
		out[ParamNATSURL] = paramValue{value: n.URL}
		if n.User != "" {
			out[ParamNATSUser] = paramValue{value: n.User}
			out[ParamNATSPassword] = paramValue{value: n.Password, secure: true}
		}
		if n.Credentials != "" {
			out[ParamNATSCredential] = paramValue{value: n.Credentials, secure: true}
		}
	}
	return out
}

// readParams returns the platform parameters that exist, decrypted.
func (m *Manager) readParams(ctx context.Context, env string) (map[string]Parameter, error) {
	names := NamesOf(env)
	out := map[string]Parameter{}
	p := ssm.NewGetParametersByPathPaginator(m.ssm, &ssm.GetParametersByPathInput{Path: aws.String(names.PlatformPath()), WithDecryption: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read parameters under %s: %w", names.PlatformPath(), err)
		}
		for _, prm := range page.Parameters {
			full := aws.ToString(prm.Name)
			short := full[len(names.PlatformPath())+1:]
			out[short] = Parameter{Name: full, ARN: aws.ToString(prm.ARN), Secure: prm.Type == ssmtypes.ParameterTypeSecureString, Version: prm.Version, value: aws.ToString(prm.Value)}
		}
	}
	return out, nil
}

// applyParams writes the parameters that differ and removes the platform
// parameters the spec no longer has.
func (m *Manager) applyParams(ctx context.Context, spec Spec) (map[string]Parameter, error) {
	names := NamesOf(spec.Name)
	have, err := m.readParams(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	want := wantedParams(spec)
	for _, short := range slices.Sorted(maps.Keys(want)) {
		w := want[short]
		h, exists := have[short]
		if w.generated {
			// Only a password this package generated is kept: one an
			// operator configured before (an external NATS's) is known to
			// Terraform, which a managed cluster's must never be.
			keep, err := m.isGenerated(ctx, names.Parameter(short))
			if err != nil {
				return nil, err
			}
			if exists && h.Secure && keep {
				continue
			}
			if w.value, err = newSecret(); err != nil {
				return nil, err
			}
		} else if exists && h.value == w.value && h.Secure == w.secure {
			continue
		}
		full := names.Parameter(short)
		typ := ssmtypes.ParameterTypeString
		if w.secure {
			typ = ssmtypes.ParameterTypeSecureString
		}
		if exists && h.Secure != w.secure {
			// SSM refuses to overwrite a parameter with another type.
			if err := m.deleteParam(ctx, full); err != nil {
				return nil, err
			}
			exists = false
		}
		desc := "Platform setting of environment " + spec.Name + "; managed by pivot_environment."
		if w.generated {
			desc = generatedDescription(spec.Name)
		}
		in := &ssm.PutParameterInput{
			Name: aws.String(full), Value: aws.String(w.value), Type: typ, Overwrite: aws.Bool(exists), Description: aws.String(desc),
		}
		if !exists {
			in.Tags = []ssmtypes.Tag{
				{Key: aws.String("pivot:environment"), Value: aws.String(spec.Name)},
				{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")},
			}
		}
		_, err := m.ssm.PutParameter(ctx, in)
		if awsx.ErrorCode(err) == "ParameterAlreadyExists" {
			// Written since the read: an earlier attempt whose answer was
			// lost (the SDK sent it again) or an interrupted apply. Its tags
			// came with it; SSM refuses tags on an overwrite.
			in.Overwrite, in.Tags = aws.Bool(true), nil
			_, err = m.ssm.PutParameter(ctx, in)
		}
		if err != nil {
			return nil, fmt.Errorf("write parameter %s: %w", full, err)
		}
	}
	for _, short := range platformParamNames {
		if _, ok := want[short]; !ok {
			if _, ok := have[short]; ok {
				if err := m.deleteParam(ctx, names.Parameter(short)); err != nil {
					return nil, err
				}
			}
		}
	}
	return m.readParams(ctx, spec.Name)
}

func generatedDescription(env string) string {
	return "Generated secret of environment " + env + "; managed by pivot_environment, never known to Terraform."
}

// isGenerated reports whether a parameter holds a secret Apply generated.
func (m *Manager) isGenerated(ctx context.Context, name string) (bool, error) {
	out, err := m.ssm.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{
		{Key: aws.String("Name"), Option: aws.String("Equals"), Values: []string{name}},
	}})
	if err != nil {
		return false, fmt.Errorf("describe parameter %s: %w", name, err)
	}
	for _, p := range out.Parameters {
		if aws.ToString(p.Name) == name {
			env := strings.Split(strings.TrimPrefix(name, "/"), "/")[0]
			return aws.ToString(p.Description) == generatedDescription(env), nil
		}
	}
	return false, nil
}

func (m *Manager) deleteParam(ctx context.Context, name string) error {
	_, err := m.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete parameter %s: %w", name, err)
	}
	return nil
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
