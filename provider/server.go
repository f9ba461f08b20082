package provider

import (
	"bytes"
	"context"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// NewServer returns the provider's protocol 6 server, for tf6server.Serve
// and test factories: the framework's server, except that a plan that
// changes nothing of a resource in noopPlanResources is answered at once.
//
// For such a plan (the proposed new state is the prior state, byte for
// byte) the framework still converts the whole value several times and
// walks the schema once per attribute (plan modifiers, defaults): about
// half of the provider's CPU in a no-op plan of 300 NATS resources, all to
// return the prior state unchanged. The resources listed plan nothing of
// their own when nothing changed (their ModifyPlan only predicts server
// defaults, which the prior state already holds), so the answer is the same.
func NewServer(version string) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		return &noopPlanServer{ProviderServer: providerserver.NewProtocol6(New(version)())()}
	}
}

// noopPlanResources are the resource types whose unchanged plans skip the
// framework. A resource belongs here only if its ModifyPlan and plan
// modifiers leave an unchanged resource unchanged.
var noopPlanResources = map[string]bool{
	"pivot_nats_stream":   true,
	"pivot_nats_consumer": true,
}

// noopPlanServer is the framework's server with the no-op plan shortcut. It
// implements tfprotov6.ProviderServer only: the provider has no list
// resources, actions or state stores.
type noopPlanServer struct {
	tfprotov6.ProviderServer
}

// msgpackNull is a null value in MessagePack.
var msgpackNull = []byte{0xc0}

func (s *noopPlanServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	if noopPlanResources[req.TypeName] && unchangedPlan(req) {
		return &tfprotov6.PlanResourceChangeResponse{
			PlannedState:    req.ProposedNewState,
			PlannedPrivate:  req.PriorPrivate,
			PlannedIdentity: req.PriorIdentity,
		}, nil
	}
	return s.ProviderServer.PlanResourceChange(ctx, req)
}

// unchangedPlan reports whether Terraform proposes exactly the prior state
// of a resource that exists, with nothing unknown (an unknown would differ
// from the prior value).
func unchangedPlan(req *tfprotov6.PlanResourceChangeRequest) bool {
	prior, proposed := req.PriorState, req.ProposedNewState
	if prior == nil || proposed == nil || len(prior.MsgPack) == 0 || bytes.Equal(prior.MsgPack, msgpackNull) {
		return false
	}
	return bytes.Equal(prior.MsgPack, proposed.MsgPack)
}
