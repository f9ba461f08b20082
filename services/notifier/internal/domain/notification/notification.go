// Package notification is notifier's domain: what a user is told when
// something happens elsewhere in the platform. It knows nothing of
// protobuf, Postgres or NATS.
package notification

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Kind says what happened.
type Kind string

// Kinds of notification.
const (
	KindNewMessage  Kind = "new_message"
	KindAddedToRoom Kind = "added_to_room"
)

// PreviewLength is how much of a message a notification quotes.
const PreviewLength = 80

// Notification is one thing a user should know about.
type Notification struct {
	ID        string
	UserID    string
	Kind      Kind
	RoomID    string
	MessageID string
	ActorID   string
	Text      string
	CreatedAt time.Time
}

// NewMessage describes a message posted in a room.
type NewMessage struct {
	MessageID  string
	RoomID     string
	RoomName   string
	SenderID   string
	Body       string
	Recipients []string
	At         time.Time
}

// ForNewMessage tells every recipient except the sender.
func ForNewMessage(m NewMessage) []Notification {
	out := make([]Notification, 0, len(m.Recipients))
	seen := map[string]bool{m.SenderID: true}
	for _, u := range m.Recipients {
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, Notification{
			ID: uuid.NewString(), UserID: u, Kind: KindNewMessage, RoomID: m.RoomID, MessageID: m.MessageID,
			ActorID: m.SenderID, Text: fmt.Sprintf("New message in %s: %s", m.RoomName, Preview(m.Body)), CreatedAt: m.At.UTC(),
		})
	}
	return out
}

// AddedToRoom describes a user being added to a room.
type AddedToRoom struct {
	RoomID   string
	RoomName string
	UserID   string
	AddedBy  string
	At       time.Time
}

// ForAddedToRoom tells the added user, unless they added themselves.
func ForAddedToRoom(a AddedToRoom) []Notification {
	if a.UserID == "" || a.UserID == a.AddedBy {
		return nil
	}
	return []Notification{{
		ID: uuid.NewString(), UserID: a.UserID, Kind: KindAddedToRoom, RoomID: a.RoomID, ActorID: a.AddedBy,
		Text: fmt.Sprintf("You were added to %s", a.RoomName), CreatedAt: a.At.UTC(),
	}}
}

// Preview shortens a body to PreviewLength characters on one line.
func Preview(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if utf8.RuneCountInString(body) <= PreviewLength {
		return body
	}
	r := []rune(body)
	return string(r[:PreviewLength-1]) + "…"
}

// Repository stores notifications.
type Repository interface {
	// StoreOnce stores ns as the effect of event eventID in one transaction
	// with the record that eventID was processed; if it already was, it
	// stores nothing and reports duplicate.
	StoreOnce(ctx context.Context, eventID string, ns []Notification) (duplicate bool, err error)
}

// ReadModel reads notifications.
type ReadModel interface {
	// ForUser returns a user's newest notifications first.
	ForUser(ctx context.Context, userID string, limit int) ([]Notification, error)
}
