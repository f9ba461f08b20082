package command

import (
	"context"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// CreateRoom creates a room with the principal and MemberIDs as members.
type CreateRoom struct {
	Principal      string
	IdempotencyKey string
	Name           string
	MemberIDs      []string
}

// CreateRoomHandler handles CreateRoom.
type CreateRoomHandler struct {
	repo room.Repository
	now  Clock
}

// NewCreateRoomHandler returns a CreateRoomHandler.
func NewCreateRoomHandler(repo room.Repository, now Clock) CreateRoomHandler {
	mustHave(repo, now)
	return CreateRoomHandler{repo: repo, now: now}
}

// Handle creates the room, or returns the one created under the same key.
func (h CreateRoomHandler) Handle(ctx context.Context, cmd CreateRoom) (*room.Room, error) {
	if err := room.ValidateUserID("principal_user_id", cmd.Principal); err != nil {
		return nil, err
	}
	idem := idempotency(cmd.Principal, cmd.IdempotencyKey, "CreateRoom", append([]string{cmd.Name}, list(cmd.MemberIDs)...)...)
	return h.repo.Create(ctx, idem, func() (*room.Room, error) {
		return room.NewRoom(cmd.Name, cmd.Principal, cmd.MemberIDs, h.now())
	})
}
