package service_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
)

const messengerService = "messenger.grpc.v1.MessengerService"

// dialGRPC connects google.golang.org/grpc (not Connect) to the harness,
// the way grpcurl or an IDE would.
func dialGRPC(t *testing.T, h *harness) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(strings.TrimPrefix(h.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func reflect(t *testing.T, conn *grpc.ClientConn, req *reflectionv1.ServerReflectionRequest) (*reflectionv1.ServerReflectionResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	// A server that refuses the stream may answer before the request is
	// written; Send then reports io.EOF and Recv has the real status.
	if err := stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return stream.Recv()
}

func TestReflectionWhenLocal(t *testing.T) {
	t.Parallel()
	h := start(t, options{stage: "local"})
	conn := dialGRPC(t, h)

	res, err := reflect(t, conn, &reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !slices.Contains(names, messengerService) {
		t.Fatalf("services = %v, want %s", names, messengerService)
	}

	// The older v1alpha API answers too (grpcurl and some IDEs still use it).
	alpha, err := reflectionv1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// v1alpha is deprecated, and still what older grpcurl and IDE clients
	// speak; the server answers both, so the test asks both.
	if err := alpha.Send(&reflectionv1alpha.ServerReflectionRequest{MessageRequest: &reflectionv1alpha.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil { //nolint:staticcheck // see above
		t.Fatal(err)
	}
	if ares, err := alpha.Recv(); err != nil || len(ares.GetListServicesResponse().GetService()) == 0 { //nolint:staticcheck // see above
		t.Fatalf("v1alpha list services: %v %v", ares, err)
	}

	// Call a method knowing nothing but what reflection said.
	res, err = reflect(t, conn, &reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: messengerService},
	})
	if err != nil {
		t.Fatal(err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, raw := range res.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fd); err != nil {
			t.Fatal(err)
		}
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := files.FindDescriptorByName(messengerService)
	if err != nil {
		t.Fatal(err)
	}
	method := desc.(protoreflect.ServiceDescriptor).Methods().ByName("CreateRoom")
	in := dynamicpb.NewMessage(method.Input())
	in.Set(method.Input().Fields().ByName("principal_user_id"), protoreflect.ValueOfString("alice"))
	in.Set(method.Input().Fields().ByName("name"), protoreflect.ValueOfString("found by reflection"))
	out := dynamicpb.NewMessage(method.Output())
	if err := conn.Invoke(context.Background(), "/"+messengerService+"/CreateRoom", in, out); err != nil {
		t.Fatal(err)
	}
	room := out.Get(method.Output().Fields().ByName("room")).Message()
	if got := room.Get(room.Descriptor().Fields().ByName("name")).String(); got != "found by reflection" {
		t.Errorf("created room name = %q", got)
	}
}

func TestNoReflectionOutsideLocal(t *testing.T) {
	t.Parallel()
	h := start(t, options{stage: "staging"})
	conn := dialGRPC(t, h)
	_, err := reflect(t, conn, &reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"},
	})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("list services outside local: %v, want Unimplemented", err)
	}
	// The API itself still works over plain gRPC.
	if err := conn.Invoke(context.Background(), "/"+messengerService+"/ListRooms",
		&grpcv1.ListRoomsRequest{PrincipalUserId: "alice"}, &grpcv1.ListRoomsResponse{}); err != nil {
		t.Fatalf("call without reflection: %v", err)
	}
}
