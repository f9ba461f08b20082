// Package room is messenger's domain: chat rooms, their members and the
// messages posted in them, with every rule messenger owns (who may post or
// read, how long a message may be). It knows nothing of protobuf, Postgres
// or NATS.
package room

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits owned by messenger. API services must not copy them (a stricter
// copy in one API would reject what another API created); they pass input
// through and relay messenger's InvalidArgument.
const (
	MaxNameLength    = 100
	MaxMessageLength = 4000
	MaxMembers       = 200
	MaxUserIDLength  = 128
)

var (
	// ErrRoomNotFound means no room has the ID.
	ErrRoomNotFound = errors.New("room not found")
	// ErrNotMember means the acting user is not a member of the room.
	ErrNotMember = errors.New("user is not a member of the room")
	// ErrRoomFull means the room reached MaxMembers.
	ErrRoomFull = errors.New("room is full")
	// ErrIdempotencyKeyReused means an idempotency key was sent again with a
	// different request.
	ErrIdempotencyKeyReused = errors.New("idempotency key was already used for a different request")
)

// ValidationError is input that breaks a rule; Field names the input.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Room is a chat room and its members.
type Room struct {
	ID        string
	Name      string
	CreatedBy string
	CreatedAt time.Time
	members   []string
	events    []Event
}

// Message is one message posted in a room.
type Message struct {
	ID        string
	RoomID    string
	SenderID  string
	Body      string
	CreatedAt time.Time
}

// Event is something that happened to a room; the repository publishes
// events after the change commits.
type Event interface{ eventID() string }

// RoomCreated follows NewRoom.
type RoomCreated struct {
	ID        string
	At        time.Time
	RoomID    string
	Name      string
	CreatedBy string
	Members   []string
}

// MemberAdded follows AddMember when the user was not yet a member.
type MemberAdded struct {
	ID       string
	At       time.Time
	RoomID   string
	RoomName string
	UserID   string
	AddedBy  string
}

// MessagePosted follows Post.
type MessagePosted struct {
	ID         string
	At         time.Time
	Message    Message
	RoomName   string
	Recipients []string
}

func (e RoomCreated) eventID() string   { return e.ID }
func (e MemberAdded) eventID() string   { return e.ID }
func (e MessagePosted) eventID() string { return e.ID }

// NewRoom creates a room; the creator is always a member.
func NewRoom(name, creator string, members []string, now time.Time) (*Room, error) {
	if err := ValidateUserID("principal_user_id", creator); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, invalid("name", "must not be empty")
	case !utf8.ValidString(name):
		return nil, invalid("name", "must be valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNameLength:
		return nil, invalid("name", "must be at most %d characters", MaxNameLength)
	}
	all := []string{creator}
	for _, m := range members {
		if err := ValidateUserID("member_user_ids", m); err != nil {
			return nil, err
		}
		if !slices.Contains(all, m) {
			all = append(all, m)
		}
	}
	if len(all) > MaxMembers {
		return nil, invalid("member_user_ids", "a room has at most %d members", MaxMembers)
	}
	r := &Room{ID: uuid.NewString(), Name: name, CreatedBy: creator, CreatedAt: Stamp(now), members: all}
	r.events = append(r.events, RoomCreated{
		ID: uuid.NewString(), At: r.CreatedAt, RoomID: r.ID, Name: r.Name, CreatedBy: creator, Members: slices.Clone(all),
	})
	return r, nil
}

// Restore rebuilds a stored room; repositories use it.
func Restore(id, name, createdBy string, createdAt time.Time, members []string) *Room {
	return &Room{ID: id, Name: name, CreatedBy: createdBy, CreatedAt: createdAt, members: members}
}

// Members returns the member user IDs in the order they joined.
func (r *Room) Members() []string { return slices.Clone(r.members) }

// IsMember reports whether userID is a member.
func (r *Room) IsMember(userID string) bool { return slices.Contains(r.members, userID) }

// CheckCanRead allows members only.
func (r *Room) CheckCanRead(userID string) error {
	if !r.IsMember(userID) {
		return ErrNotMember
	}
	return nil
}

// AddMember adds userID on behalf of actor, who must be a member. Adding an
// existing member changes nothing and reports added=false.
func (r *Room) AddMember(actor, userID string, now time.Time) (added bool, err error) {
	if err := ValidateUserID("user_id", userID); err != nil {
		return false, err
	}
	if !r.IsMember(actor) {
		return false, ErrNotMember
	}
	if r.IsMember(userID) {
		return false, nil
	}
	if len(r.members) >= MaxMembers {
		return false, ErrRoomFull
	}
	r.members = append(r.members, userID)
	r.events = append(r.events, MemberAdded{
		ID: uuid.NewString(), At: Stamp(now), RoomID: r.ID, RoomName: r.Name, UserID: userID, AddedBy: actor,
	})
	return true, nil
}

// Post creates a message from sender, who must be a member.
func (r *Room) Post(sender, body string, now time.Time) (*Message, error) {
	if !r.IsMember(sender) {
		return nil, ErrNotMember
	}
	if err := ValidateBody(body); err != nil {
		return nil, err
	}
	m := &Message{ID: uuid.NewString(), RoomID: r.ID, SenderID: sender, Body: body, CreatedAt: Stamp(now)}
	recipients := make([]string, 0, len(r.members)-1)
	for _, u := range r.members {
		if u != sender {
			recipients = append(recipients, u)
		}
	}
	r.events = append(r.events, MessagePosted{ID: uuid.NewString(), At: m.CreatedAt, Message: *m, RoomName: r.Name, Recipients: recipients})
	return m, nil
}

// Stamp is the time messenger records for something happening at now: UTC,
// to the microsecond, which is what storage keeps. A response built from
// the fresh value and one rebuilt from storage (an idempotent replay) are
// then the same.
func Stamp(now time.Time) time.Time { return now.UTC().Truncate(time.Microsecond) }

// PopEvents returns the events recorded since the last call and forgets them.
func (r *Room) PopEvents() []Event {
	ev := r.events
	r.events = nil
	return ev
}

// ValidateBody applies messenger's message rules.
func ValidateBody(body string) error {
	switch {
	case strings.TrimSpace(body) == "":
		return invalid("body", "must not be empty")
	case !utf8.ValidString(body):
		return invalid("body", "must be valid UTF-8")
	case utf8.RuneCountInString(body) > MaxMessageLength:
		return invalid("body", "must be at most %d characters", MaxMessageLength)
	}
	return nil
}

// ValidateUserID checks a user ID's shape; identity itself is the caller's
// responsibility.
func ValidateUserID(field, id string) error {
	switch {
	case id == "":
		return invalid(field, "must not be empty")
	case len(id) > MaxUserIDLength:
		return invalid(field, "must be at most %d bytes", MaxUserIDLength)
	case strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return invalid(field, "must not contain spaces or control characters")
	}
	return nil
}

// ValidateRoomID checks a room ID's shape (a UUID).
func ValidateRoomID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return invalid("room_id", "must be a UUID")
	}
	return nil
}
