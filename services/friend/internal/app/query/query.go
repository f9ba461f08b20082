// Package query holds friend's reads.
package query

import (
	"context"

	"github.com/pivotapp/platform/services/friend/internal/domain/chat"
)

// ListRooms lists the principal's rooms.
type ListRooms struct{ Principal string }

// ListMessages lists a page of a room's messages.
type ListMessages struct {
	Principal string
	RoomID    string
	PageSize  int
	PageToken string
}

// Handler handles friend's queries.
type Handler struct{ rooms chat.Rooms }

// NewHandler returns a Handler.
func NewHandler(rooms chat.Rooms) Handler {
	if rooms == nil {
		panic("query: nil rooms")
	}
	return Handler{rooms: rooms}
}

// ListRooms handles ListRooms.
func (h Handler) ListRooms(ctx context.Context, q ListRooms) ([]*chat.Room, error) {
	return h.rooms.ListRooms(ctx, q.Principal)
}

// ListMessages handles ListMessages.
func (h Handler) ListMessages(ctx context.Context, q ListMessages) (chat.MessagePage, error) {
	if err := chat.Required("room_id", q.RoomID); err != nil {
		return chat.MessagePage{}, err
	}
	if q.PageSize < 0 {
		return chat.MessagePage{}, &chat.InvalidInputError{Field: "page_size", Reason: "must not be negative"}
	}
	return h.rooms.ListMessages(ctx, q.Principal, q.RoomID, q.PageSize, q.PageToken)
}
