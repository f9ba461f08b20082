// Package command holds friend's mutations; they check the API's required
// fields and delegate to the owning service.
package command

import (
	"context"
	"errors"

	"github.com/pivotapp/platform/services/friend/internal/domain/chat"
)

// CreateRoom creates a room.
type CreateRoom struct {
	Principal string
	RequestID string
	Name      string
	MemberIDs []string
}

// AddRoomMember adds a user to a room.
type AddRoomMember struct {
	Principal string
	RequestID string
	RoomID    string
	UserID    string
}

// SendMessage posts a message.
type SendMessage struct {
	Principal string
	RequestID string
	RoomID    string
	Body      string
}

// Handler handles friend's commands.
type Handler struct{ rooms chat.Rooms }

// NewHandler returns a Handler.
func NewHandler(rooms chat.Rooms) Handler {
	if rooms == nil {
		panic("command: nil rooms")
	}
	return Handler{rooms: rooms}
}

// CreateRoom handles CreateRoom.
func (h Handler) CreateRoom(ctx context.Context, cmd CreateRoom) (*chat.Room, error) {
	if err := chat.Required("name", cmd.Name); err != nil {
		return nil, err
	}
	return h.rooms.CreateRoom(ctx, cmd.Principal, cmd.RequestID, cmd.Name, cmd.MemberIDs)
}

// AddRoomMember handles AddRoomMember.
func (h Handler) AddRoomMember(ctx context.Context, cmd AddRoomMember) (*chat.Room, error) {
	if err := errors.Join(chat.Required("room_id", cmd.RoomID), chat.Required("user_id", cmd.UserID)); err != nil {
		return nil, firstInvalid(err)
	}
	return h.rooms.AddRoomMember(ctx, cmd.Principal, cmd.RequestID, cmd.RoomID, cmd.UserID)
}

// SendMessage handles SendMessage. Only presence is checked here: the
// length and content rules are messenger's, and its answer is relayed.
func (h Handler) SendMessage(ctx context.Context, cmd SendMessage) (*chat.Message, error) {
	if err := errors.Join(chat.Required("room_id", cmd.RoomID), chat.Required("body", cmd.Body)); err != nil {
		return nil, firstInvalid(err)
	}
	return h.rooms.SendMessage(ctx, cmd.Principal, cmd.RequestID, cmd.RoomID, cmd.Body)
}

func firstInvalid(err error) error {
	var invalid *chat.InvalidInputError
	if errors.As(err, &invalid) {
		return invalid
	}
	return err
}
