package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// Every attribute of the environment's resources is documented, nested
// ones included, so the generated docs have no blank rows.
func TestEnvironmentResourceSchemasDocumented(t *testing.T) {
	t.Parallel()
	for _, newRes := range []func() resource.Resource{
		NewEnvironmentResource, NewAuroraClusterResource, NewServiceDatabaseResource, NewPublicEndpointResource, NewDNSRecordResource,
	} {
		r := newRes()
		var meta resource.MetadataResponse
		r.Metadata(context.Background(), resource.MetadataRequest{ProviderTypeName: "pivot"}, &meta)
		var resp resource.SchemaResponse
		r.Schema(context.Background(), resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, resp.Diagnostics)
		}
		if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
			t.Errorf("%s: %v", meta.TypeName, diags)
		}
		if resp.Schema.MarkdownDescription == "" {
			t.Errorf("%s has no description", meta.TypeName)
		}
		checkDescribed(t, meta.TypeName, resp.Schema.Attributes, resp.Schema.Blocks)
	}
}

func checkDescribed(t *testing.T, prefix string, attrs map[string]schema.Attribute, blocks map[string]schema.Block) {
	t.Helper()
	for name, a := range attrs {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("%s.%s has no MarkdownDescription", prefix, name)
		}
		if n, ok := a.(schema.SingleNestedAttribute); ok {
			checkDescribed(t, prefix+"."+name, n.Attributes, nil)
		}
	}
	for name, b := range blocks {
		if b.GetMarkdownDescription() == "" {
			t.Errorf("%s.%s block has no MarkdownDescription", prefix, name)
		}
		if n, ok := b.(schema.SingleNestedBlock); ok {
			checkDescribed(t, prefix+"."+name, n.Attributes, n.Blocks)
		}
	}
}
