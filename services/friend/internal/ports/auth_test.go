package ports

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	connectv1 "github.com/pivotapp/platform/services/internal/gen/friend/connect/v1"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
)

type fixedAuth struct{}

func (fixedAuth) Verify(_ context.Context, token string) (string, error) {
	if token == "good" {
		return "alice", nil
	}
	return "", errors.New("bad token")
}

func TestEveryProcedureHasAPolicy(t *testing.T) {
	// Walk the generated descriptor so a new RPC without a policy fails here.
	svc := connectv1.File_friend_connect_v1_friend_proto.Services().ByName("FriendService")
	for i := 0; i < svc.Methods().Len(); i++ {
		m := svc.Methods().Get(i)
		procedure := "/" + string(svc.FullName()) + "/" + string(m.Name())
		if _, ok := Policies[procedure]; !ok {
			t.Errorf("%s has no access policy", procedure)
		}
	}
}

func TestUnlistedProceduresAreRefused(t *testing.T) {
	a := &authInterceptor{auth: fixedAuth{}, policies: Policies}
	h := http.Header{"Authorization": {"Bearer good"}}
	if _, err := a.authorize(context.Background(), "/friend.connect.v1.FriendService/DropTables", h); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("unlisted procedure: %v, want PermissionDenied", err)
	}
	ctx, err := a.authorize(context.Background(), connectv1connect.FriendServiceListRoomsProcedure, h)
	if err != nil || principal(ctx) != "alice" {
		t.Fatalf("listed procedure with a good token: principal %q, err %v", principal(ctx), err)
	}
}
