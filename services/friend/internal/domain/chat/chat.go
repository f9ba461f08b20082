// Package chat is friend's view of chat: the shapes clients see, the
// errors friend distinguishes, and the interface to the service that owns
// rooms and messages. Friend validates only its own API's basics (required
// fields); messenger owns every content rule.
package chat

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Room is a chat room as clients see it.
type Room struct {
	ID        string
	Name      string
	Members   []string
	CreatedAt time.Time
}

// Message is a chat message as clients see it.
type Message struct {
	ID        string
	RoomID    string
	SenderID  string
	Body      string
	CreatedAt time.Time
}

// MessagePage is one page of a room's messages.
type MessagePage struct {
	Messages      []*Message
	NextPageToken string
}

var (
	// ErrNotFound means the room does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPermissionDenied means the owning service refused the user.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrConflict means a request ID was reused for a different request.
	ErrConflict = errors.New("request ID already used for a different request")
	// ErrFailedPrecondition means the state does not allow the change.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable means the owning service could not be reached.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// InvalidInputError is input refused by friend's basic checks or relayed
// from the owning service's rules.
type InvalidInputError struct {
	Field  string
	Reason string
}

func (e *InvalidInputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Required checks that a required field is present.
func Required(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return &InvalidInputError{Field: field, Reason: "is required"}
	}
	return nil
}

// Rooms is the owner of rooms and messages (messenger). Every call names
// the acting user; the owner decides what that user may do.
type Rooms interface {
	CreateRoom(ctx context.Context, principal, requestID, name string, members []string) (*Room, error)
	AddRoomMember(ctx context.Context, principal, requestID, roomID, userID string) (*Room, error)
	SendMessage(ctx context.Context, principal, requestID, roomID, body string) (*Message, error)
	ListRooms(ctx context.Context, principal string) ([]*Room, error)
	ListMessages(ctx context.Context, principal, roomID string, pageSize int, pageToken string) (MessagePage, error)
}
