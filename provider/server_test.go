package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// planRecorder stands in for the framework's server and records whether it
// was asked to plan.
type planRecorder struct {
	tfprotov6.ProviderServer
	planned bool
}

func (p *planRecorder) PlanResourceChange(context.Context, *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	p.planned = true
	return &tfprotov6.PlanResourceChangeResponse{}, nil
}

func TestNoopPlanServer(t *testing.T) {
	state := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa2, 'i', 'd', 0xa1, 'x'}}
	other := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa2, 'i', 'd', 0xa1, 'y'}}
	null := &tfprotov6.DynamicValue{MsgPack: msgpackNull}
	for _, tc := range []struct {
		name           string
		req            tfprotov6.PlanResourceChangeRequest
		wantFramework  bool
		wantPlannedRaw []byte
	}{
		{"unchanged stream", tfprotov6.PlanResourceChangeRequest{TypeName: "pivot_nats_stream", PriorState: state, ProposedNewState: state, PriorPrivate: []byte("p")}, false, state.MsgPack},
		{"changed stream", tfprotov6.PlanResourceChangeRequest{TypeName: "pivot_nats_stream", PriorState: state, ProposedNewState: other}, true, nil},
		{"create", tfprotov6.PlanResourceChangeRequest{TypeName: "pivot_nats_consumer", PriorState: null, ProposedNewState: null}, true, nil},
		{"unchanged service", tfprotov6.PlanResourceChangeRequest{TypeName: "pivot_service", PriorState: state, ProposedNewState: state}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &planRecorder{}
			resp, err := (&noopPlanServer{ProviderServer: rec}).PlanResourceChange(context.Background(), &tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if rec.planned != tc.wantFramework {
				t.Fatalf("framework planned: %v, want %v", rec.planned, tc.wantFramework)
			}
			if !tc.wantFramework && (string(resp.PlannedState.MsgPack) != string(tc.wantPlannedRaw) || string(resp.PlannedPrivate) != "p") {
				t.Fatalf("planned %x private %q", resp.PlannedState.MsgPack, resp.PlannedPrivate)
			}
		})
	}
}
