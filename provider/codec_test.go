package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestModelCodec_matchesFramework checks that the codec reads and writes
// exactly what tfsdk.State.Get and Set do, for values with nulls, unknowns,
// lists, maps and nested objects.
func TestModelCodec_matchesFramework(t *testing.T) {
	ctx := context.Background()
	var sr resource.SchemaResponse
	(&natsStreamResource{}).Schema(ctx, resource.SchemaRequest{}, &sr)

	want := natsStreamModel{
		ID: types.StringValue("S1"), Name: types.StringValue("S1"), Owner: types.StringNull(),
		Description: types.StringUnknown(),
		Subjects:    types.ListValueMust(types.StringType, []attr.Value{types.StringValue("a.>"), types.StringValue("b")}),
		Retention:   types.StringValue("limits"), MaxMsgs: types.Int64Value(-1), Replicas: types.Int64Value(1),
		NoAck: types.BoolValue(false), Metadata: types.MapValueMust(types.StringType, map[string]attr.Value{"k": types.StringValue("v")}),
		Placement: types.ObjectNull(jsPlacementAttrTypes), Mirror: types.ObjectNull(jsSourceAttrTypes),
		Sources:          types.ListNull(types.ObjectType{AttrTypes: jsSourceAttrTypes}),
		SubjectTransform: types.ObjectValueMust(jsTransformAttrTypes, map[string]attr.Value{"source": types.StringValue("a"), "destination": types.StringValue("b")}),
		Republish:        types.ObjectNull(jsRepublishAttrTypes), ConsumerLimits: types.ObjectNull(jsConsumerLimitsAttrTypes),
		Connection: types.ObjectNull(natsConnectionAttrTypes()),
	}
	fw := tfsdk.State{Schema: sr.Schema}
	if d := fw.Set(ctx, &want); d.HasError() {
		t.Fatalf("framework set: %v", d)
	}
	var codec modelCodec[natsStreamModel]
	fast := tfsdk.State{Schema: sr.Schema}
	if d := codec.setState(ctx, &fast, &want); d.HasError() {
		t.Fatalf("codec set: %v", d)
	}
	if !codec.ok {
		t.Fatal("the codec does not take natsStreamModel: it would always fall back to the framework")
	}
	if !fast.Raw.Equal(fw.Raw) {
		t.Fatalf("codec wrote\n%s\nframework wrote\n%s", fast.Raw, fw.Raw)
	}
	var got, fwGot natsStreamModel
	if d := codec.getState(ctx, fw, &got); d.HasError() {
		t.Fatalf("codec get: %v", d)
	}
	if d := fw.Get(ctx, &fwGot); d.HasError() {
		t.Fatalf("framework get: %v", d)
	}
	// Written back by the framework, both reads give the same value.
	a, b := tfsdk.State{Schema: sr.Schema}, tfsdk.State{Schema: sr.Schema}
	if d := a.Set(ctx, &got); d.HasError() {
		t.Fatalf("framework set: %v", d)
	}
	if d := b.Set(ctx, &fwGot); d.HasError() {
		t.Fatalf("framework set: %v", d)
	}
	if !a.Raw.Equal(b.Raw) || !a.Raw.Equal(fw.Raw) {
		t.Fatalf("codec read %+v, framework read %+v", got, fwGot)
	}
	if !got.Subjects.Equal(fwGot.Subjects) || !got.Description.Equal(fwGot.Description) || !got.SubjectTransform.Equal(fwGot.SubjectTransform) {
		t.Fatalf("codec read %+v, framework read %+v", got, fwGot)
	}
}

// TestModelCodec_takesEveryModel fails when a model no longer fits the
// codec (a field that is not an attr.Value of the schema's type): it would
// silently fall back to the framework's reflection.
func TestModelCodec_takesEveryModel(t *testing.T) {
	ctx := context.Background()
	var stream, consumer resource.SchemaResponse
	(&natsStreamResource{}).Schema(ctx, resource.SchemaRequest{}, &stream)
	(&natsConsumerResource{}).Schema(ctx, resource.SchemaRequest{}, &consumer)
	var sc modelCodec[natsStreamModel]
	sc.init(ctx, stream.Schema)
	var cc modelCodec[natsConsumerModel]
	cc.init(ctx, consumer.Schema)
	if !sc.ok || !cc.ok {
		t.Fatalf("codec takes natsStreamModel: %v, natsConsumerModel: %v", sc.ok, cc.ok)
	}
}
