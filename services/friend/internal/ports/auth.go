package ports

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
)

// Authenticator verifies a bearer token and returns the user ID it proves.
type Authenticator interface {
	Verify(ctx context.Context, token string) (userID string, err error)
}

// Access is an operation-level rule: who may call a procedure at all.
// Finer rules (may this user post in this room?) belong to the service that
// owns the data.
type Access int

// Access levels.
const (
	// Public procedures answer anyone; a token, if sent, must still be valid.
	Public Access = iota + 1
	// Authenticated procedures need a valid user token.
	Authenticated
)

// Policies lists every procedure's access. A procedure missing here is
// refused, so a new RPC cannot ship without a decision.
var Policies = map[string]Access{
	connectv1connect.FriendServiceGetStatusProcedure:     Public,
	connectv1connect.FriendServiceCreateRoomProcedure:    Authenticated,
	connectv1connect.FriendServiceAddRoomMemberProcedure: Authenticated,
	connectv1connect.FriendServiceSendMessageProcedure:   Authenticated,
	connectv1connect.FriendServiceListRoomsProcedure:     Authenticated,
	connectv1connect.FriendServiceListMessagesProcedure:  Authenticated,
}

type principalKey struct{}

// principal returns the authenticated user ID, or "" on a public call
// without a token.
func principal(ctx context.Context) string {
	id, _ := ctx.Value(principalKey{}).(string)
	return id
}

// authInterceptor authenticates and applies Policies to unary and streaming
// calls alike.
type authInterceptor struct {
	auth     Authenticator
	policies map[string]Access
}

// NewAuthInterceptor returns the interceptor that guards friend's API.
func NewAuthInterceptor(auth Authenticator, policies map[string]Access) connect.Interceptor {
	if auth == nil {
		panic("ports: nil authenticator")
	}
	return &authInterceptor{auth: auth, policies: policies}
}

var (
	errNoPolicy     = errors.New("procedure has no access policy")
	errNoToken      = errors.New("missing bearer token")
	errInvalidToken = errors.New("invalid bearer token")
)

func (a *authInterceptor) authorize(ctx context.Context, procedure string, header http.Header) (context.Context, error) {
	access, ok := a.policies[procedure]
	if !ok {
		return nil, connect.NewError(connect.CodePermissionDenied, errNoPolicy)
	}
	raw := header.Get("Authorization")
	if raw == "" {
		if access == Public {
			return ctx, nil
		}
		return nil, connect.NewError(connect.CodeUnauthenticated, errNoToken)
	}
	scheme, token, found := strings.Cut(raw, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, connect.NewError(connect.CodeUnauthenticated, errNoToken)
	}
	userID, err := a.auth.Verify(ctx, strings.TrimSpace(token))
	if err != nil {
		// The reason stays server-side; clients learn only that it failed.
		return nil, connect.NewError(connect.CodeUnauthenticated, errInvalidToken)
	}
	return context.WithValue(ctx, principalKey{}, userID), nil
}

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := a.authorize(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := a.authorize(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
