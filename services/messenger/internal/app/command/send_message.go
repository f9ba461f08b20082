package command

import (
	"context"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// SendMessage posts Body to a room as the principal.
type SendMessage struct {
	Principal      string
	IdempotencyKey string
	RoomID         string
	Body           string
}

// SendMessageHandler handles SendMessage.
type SendMessageHandler struct {
	repo room.Repository
	now  Clock
}

// NewSendMessageHandler returns a SendMessageHandler.
func NewSendMessageHandler(repo room.Repository, now Clock) SendMessageHandler {
	mustHave(repo, now)
	return SendMessageHandler{repo: repo, now: now}
}

// Handle posts the message, or returns the one posted under the same key.
func (h SendMessageHandler) Handle(ctx context.Context, cmd SendMessage) (*room.Message, error) {
	if err := room.ValidateUserID("principal_user_id", cmd.Principal); err != nil {
		return nil, err
	}
	if err := room.ValidateRoomID(cmd.RoomID); err != nil {
		return nil, err
	}
	idem := idempotency(cmd.Principal, cmd.IdempotencyKey, "SendMessage", cmd.RoomID, cmd.Body)
	return h.repo.Post(ctx, idem, cmd.RoomID, func(r *room.Room) (*room.Message, error) {
		return r.Post(cmd.Principal, cmd.Body, h.now())
	})
}
