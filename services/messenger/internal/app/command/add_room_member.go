package command

import (
	"context"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// AddRoomMember adds UserID to a room on behalf of the principal.
type AddRoomMember struct {
	Principal      string
	IdempotencyKey string
	RoomID         string
	UserID         string
}

// AddRoomMemberHandler handles AddRoomMember.
type AddRoomMemberHandler struct {
	repo room.Repository
	now  Clock
}

// NewAddRoomMemberHandler returns an AddRoomMemberHandler.
func NewAddRoomMemberHandler(repo room.Repository, now Clock) AddRoomMemberHandler {
	mustHave(repo, now)
	return AddRoomMemberHandler{repo: repo, now: now}
}

// Handle adds the member and returns the room.
func (h AddRoomMemberHandler) Handle(ctx context.Context, cmd AddRoomMember) (*room.Room, error) {
	if err := room.ValidateUserID("principal_user_id", cmd.Principal); err != nil {
		return nil, err
	}
	if err := room.ValidateRoomID(cmd.RoomID); err != nil {
		return nil, err
	}
	idem := idempotency(cmd.Principal, cmd.IdempotencyKey, "AddRoomMember", cmd.RoomID, cmd.UserID)
	return h.repo.Update(ctx, idem, cmd.RoomID, func(r *room.Room) error {
		_, err := r.AddMember(cmd.Principal, cmd.UserID, h.now())
		return err
	})
}
