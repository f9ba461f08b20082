package room_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newRoom(t *testing.T, creator string, members ...string) *room.Room {
	t.Helper()
	r, err := room.NewRoom("general", creator, members, now)
	if err != nil {
		t.Fatal(err)
	}
	r.PopEvents()
	return r
}

func TestNewRoom(t *testing.T) {
	r, err := room.NewRoom("  general ", "alice", []string{"bob", "alice", "bob"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "general" {
		t.Errorf("name = %q, want trimmed", r.Name)
	}
	if got := strings.Join(r.Members(), ","); got != "alice,bob" {
		t.Errorf("members = %s, want creator first and no duplicates", got)
	}
	ev := r.PopEvents()
	if len(ev) != 1 {
		t.Fatalf("events = %d, want 1", len(ev))
	}
	if _, ok := ev[0].(room.RoomCreated); !ok {
		t.Errorf("event = %T, want RoomCreated", ev[0])
	}
	if len(r.PopEvents()) != 0 {
		t.Error("PopEvents must forget returned events")
	}
}

func TestNewRoomRejects(t *testing.T) {
	tooMany := make([]string, room.MaxMembers)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("user-%d", i)
	}
	cases := map[string]struct {
		name, creator string
		members       []string
		field         string
	}{
		"empty name":      {"  ", "alice", nil, "name"},
		"long name":       {strings.Repeat("n", room.MaxNameLength+1), "alice", nil, "name"},
		"no creator":      {"x", "", nil, "principal_user_id"},
		"spaced member":   {"x", "alice", []string{"b ob"}, "member_user_ids"},
		"too many":        {"x", "creator", tooMany, "member_user_ids"},
		"invalid utf8":    {"\xff", "alice", nil, "name"},
		"long user id":    {"x", "alice", []string{strings.Repeat("u", room.MaxUserIDLength+1)}, "member_user_ids"},
		"control in user": {"x", "al\nice", nil, "principal_user_id"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := room.NewRoom(c.name, c.creator, c.members, now)
			var v *room.ValidationError
			if !errors.As(err, &v) || v.Field != c.field {
				t.Fatalf("err = %v, want validation error on %s", err, c.field)
			}
		})
	}
}

func TestPostLengthRuleIsMessengers(t *testing.T) {
	r := newRoom(t, "alice", "bob")
	if _, err := r.Post("alice", strings.Repeat("é", room.MaxMessageLength), now); err != nil {
		t.Fatalf("a body of exactly MaxMessageLength characters must pass: %v", err)
	}
	_, err := r.Post("alice", strings.Repeat("é", room.MaxMessageLength+1), now)
	var v *room.ValidationError
	if !errors.As(err, &v) || v.Field != "body" {
		t.Fatalf("err = %v, want body validation error", err)
	}
	if _, err := r.Post("alice", " \n\t", now); !errors.As(err, &v) {
		t.Fatalf("blank body: err = %v, want validation error", err)
	}
}

func TestPostOnlyMembers(t *testing.T) {
	r := newRoom(t, "alice", "bob", "carol")
	if _, err := r.Post("mallory", "hi", now); !errors.Is(err, room.ErrNotMember) {
		t.Fatalf("err = %v, want ErrNotMember", err)
	}
	m, err := r.Post("bob", "hi", now)
	if err != nil {
		t.Fatal(err)
	}
	ev := r.PopEvents()
	posted, ok := ev[len(ev)-1].(room.MessagePosted)
	if !ok {
		t.Fatalf("event = %T, want MessagePosted", ev[len(ev)-1])
	}
	if posted.Message.ID != m.ID || strings.Join(posted.Recipients, ",") != "alice,carol" {
		t.Errorf("event = %+v, want recipients alice,carol (everyone but the sender)", posted)
	}
}

func TestAddMember(t *testing.T) {
	r := newRoom(t, "alice")
	if _, err := r.AddMember("mallory", "eve", now); !errors.Is(err, room.ErrNotMember) {
		t.Fatalf("non-member adding: err = %v, want ErrNotMember", err)
	}
	added, err := r.AddMember("alice", "bob", now)
	if err != nil || !added {
		t.Fatalf("added=%v err=%v", added, err)
	}
	added, err = r.AddMember("bob", "bob", now)
	if err != nil || added {
		t.Fatalf("re-adding a member must be a no-op: added=%v err=%v", added, err)
	}
	if ev := r.PopEvents(); len(ev) != 1 {
		t.Fatalf("events = %d, want exactly one MemberAdded", len(ev))
	}
	if err := r.CheckCanRead("bob"); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckCanRead("eve"); !errors.Is(err, room.ErrNotMember) {
		t.Fatalf("err = %v, want ErrNotMember", err)
	}
}

func TestValidateRoomID(t *testing.T) {
	if err := room.ValidateRoomID("not-a-uuid"); err == nil {
		t.Fatal("want error")
	}
	if err := room.ValidateRoomID("7b1f8c0e-4a38-4c66-9a57-0e4e4bbf1a11"); err != nil {
		t.Fatal(err)
	}
}
