// Package query holds messenger's read use cases; they run on the reader
// endpoint.
package query

import (
	"context"
	"encoding/base64"
	"strconv"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// GetRoom returns a room the principal belongs to.
type GetRoom struct {
	Principal string
	RoomID    string
}

// GetRoomHandler handles GetRoom.
type GetRoomHandler struct{ read room.ReadModel }

// NewGetRoomHandler returns a GetRoomHandler.
func NewGetRoomHandler(read room.ReadModel) GetRoomHandler {
	if read == nil {
		panic("query: nil read model")
	}
	return GetRoomHandler{read: read}
}

// Handle returns the room if the principal is a member.
func (h GetRoomHandler) Handle(ctx context.Context, q GetRoom) (*room.Room, error) {
	return readableRoom(ctx, h.read, q.Principal, q.RoomID)
}

func readableRoom(ctx context.Context, read room.ReadModel, principal, roomID string) (*room.Room, error) {
	if err := room.ValidateUserID("principal_user_id", principal); err != nil {
		return nil, err
	}
	if err := room.ValidateRoomID(roomID); err != nil {
		return nil, err
	}
	r, err := read.Room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	if err := r.CheckCanRead(principal); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRooms returns the principal's rooms.
type ListRooms struct {
	Principal string
}

// ListRoomsHandler handles ListRooms.
type ListRoomsHandler struct{ read room.ReadModel }

// NewListRoomsHandler returns a ListRoomsHandler.
func NewListRoomsHandler(read room.ReadModel) ListRoomsHandler {
	if read == nil {
		panic("query: nil read model")
	}
	return ListRoomsHandler{read: read}
}

// Handle lists the rooms the principal is a member of.
func (h ListRoomsHandler) Handle(ctx context.Context, q ListRooms) ([]*room.Room, error) {
	if err := room.ValidateUserID("principal_user_id", q.Principal); err != nil {
		return nil, err
	}
	return h.read.RoomsOf(ctx, q.Principal)
}

// Page sizes for ListMessages.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ListMessages returns a page of a room's messages.
type ListMessages struct {
	Principal string
	RoomID    string
	PageSize  int
	PageToken string
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages      []*room.Message
	NextPageToken string
}

// ListMessagesHandler handles ListMessages.
type ListMessagesHandler struct{ read room.ReadModel }

// NewListMessagesHandler returns a ListMessagesHandler.
func NewListMessagesHandler(read room.ReadModel) ListMessagesHandler {
	if read == nil {
		panic("query: nil read model")
	}
	return ListMessagesHandler{read: read}
}

// Handle returns the page if the principal is a member.
func (h ListMessagesHandler) Handle(ctx context.Context, q ListMessages) (MessagePage, error) {
	if _, err := readableRoom(ctx, h.read, q.Principal, q.RoomID); err != nil {
		return MessagePage{}, err
	}
	after, err := decodeToken(q.PageToken)
	if err != nil {
		return MessagePage{}, err
	}
	size := q.PageSize
	switch {
	case size <= 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	msgs, next, err := h.read.Messages(ctx, q.RoomID, after, size)
	if err != nil {
		return MessagePage{}, err
	}
	page := MessagePage{Messages: msgs}
	if next > 0 {
		page.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(next, 10)))
	}
	return page, nil
}

// Page tokens are opaque to clients so the cursor can change later.
func decodeToken(token string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, &room.ValidationError{Field: "page_token", Reason: "is not a token this service issued"}
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n <= 0 {
		return 0, &room.ValidationError{Field: "page_token", Reason: "is not a token this service issued"}
	}
	return n, nil
}
