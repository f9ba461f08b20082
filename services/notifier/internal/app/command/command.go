// Package command holds notifier's use cases: reacting to other services'
// events.
package command

import (
	"context"
	"errors"
	"log/slog"

	"github.com/pivotapp/platform/services/notifier/internal/domain/notification"
)

// ErrMissingEventID rejects an event that cannot be deduplicated.
var ErrMissingEventID = errors.New("event has no ID")

// NotifyNewMessage reacts to messenger's MessageCreated.
type NotifyNewMessage struct {
	EventID string
	Message notification.NewMessage
}

// NotifyAddedToRoom reacts to messenger's RoomMemberAdded.
type NotifyAddedToRoom struct {
	EventID string
	Added   notification.AddedToRoom
}

// NotifyHandler handles both commands; each event is applied at most once.
type NotifyHandler struct {
	repo   notification.Repository
	logger *slog.Logger
}

// NewNotifyHandler returns a NotifyHandler.
func NewNotifyHandler(repo notification.Repository, logger *slog.Logger) NotifyHandler {
	if repo == nil || logger == nil {
		panic("command: nil dependency")
	}
	return NotifyHandler{repo: repo, logger: logger}
}

// NewMessage stores the notifications of a posted message.
func (h NotifyHandler) NewMessage(ctx context.Context, cmd NotifyNewMessage) error {
	return h.store(ctx, cmd.EventID, notification.ForNewMessage(cmd.Message))
}

// AddedToRoom stores the notification of a new room member.
func (h NotifyHandler) AddedToRoom(ctx context.Context, cmd NotifyAddedToRoom) error {
	return h.store(ctx, cmd.EventID, notification.ForAddedToRoom(cmd.Added))
}

func (h NotifyHandler) store(ctx context.Context, eventID string, ns []notification.Notification) error {
	if eventID == "" {
		return ErrMissingEventID
	}
	duplicate, err := h.repo.StoreOnce(ctx, eventID, ns)
	if err != nil {
		return err
	}
	if duplicate {
		h.logger.DebugContext(ctx, "event already processed", "event_id", eventID)
	}
	return nil
}
