package main

import (
	"context"
	"net"

	"connectrpc.com/connect"

	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/kit"
)

// hop serves messenger's API with a SendMessage that returns at once, on
// the same kit.Process server and handler options as messenger, so calling
// it costs exactly the Connect hop: framing, HTTP/2, protobuf, tracing and
// interceptors on both sides, and no database.
type hop struct {
	call func(context.Context) error
	stop func()
}

type hopServer struct {
	grpcv1connect.UnimplementedMessengerServiceHandler
}

func (hopServer) SendMessage(_ context.Context, req *connect.Request[grpcv1.SendMessageRequest]) (*connect.Response[grpcv1.SendMessageResponse], error) {
	return connect.NewResponse(&grpcv1.SendMessageResponse{Message: &grpcv1.Message{
		Id: req.Msg.GetIdempotencyKey(), RoomId: req.Msg.GetRoomId(), SenderUserId: req.Msg.GetPrincipalUserId(), Body: req.Msg.GetBody(),
	}}), nil
}

func startHop(ctx context.Context) (*hop, error) {
	p := kit.NewProcess("hop", kit.BaseConfig{}, kit.DiscardLogger())
	path, handler := grpcv1connect.NewMessengerServiceHandler(hopServer{}, p.HandlerOptions()...)
	p.Handle(grpcv1connect.MessengerServiceName, path, handler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Serve(sctx, ln)
	}()
	client := grpcv1connect.NewMessengerServiceClient(kit.H2CClient(), "http://"+ln.Addr().String(), connect.WithGRPC())
	return &hop{
		call: func(ctx context.Context) error {
			_, err := client.SendMessage(ctx, connect.NewRequest(&grpcv1.SendMessageRequest{
				PrincipalUserId: "alice", IdempotencyKey: "k", RoomId: "r", Body: "benchmark message body",
			}))
			return err
		},
		stop: func() { cancel(); <-done },
	}, nil
}
