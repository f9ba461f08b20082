package protolint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "proto")
	write(t, root, "messenger/grpc/v1/messenger.proto", "syntax = \"proto3\";\npackage messenger.grpc.v1;\nimport \"google/protobuf/timestamp.proto\";\nimport \"messenger/nats/v1/events.proto\";\n")
	write(t, root, "messenger/nats/v1/events.proto", "syntax = \"proto3\";\npackage messenger.nats.v1;\n")
	write(t, root, "friend/connect/v1/friend.proto", "syntax = \"proto3\";\npackage friend.connect.v1;\nimport \"messenger/grpc/v1/messenger.proto\";\n")
	write(t, root, "notifier/nats/events.proto", "syntax = \"proto3\";\npackage notifier.nats;\n")
	write(t, root, "notifier/grpc/v2/notifier.proto", "syntax = \"proto3\";\npackage notifier.grpc.v1;\n")

	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		`proto/friend/connect/v1/friend.proto:3: imports "messenger/grpc/v1/messenger.proto", another service's messages`,
		`proto/notifier/grpc/v2/notifier.proto:2: package notifier.grpc.v1 does not match its path: want package notifier.grpc.v2;`,
		`proto/notifier/nats/events.proto: not at a versioned path`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
}
