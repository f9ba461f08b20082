package ports

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	natsv1 "github.com/pivotapp/platform/services/internal/gen/messenger/nats/v1"
	"github.com/pivotapp/platform/services/kit/natsx"
	"github.com/pivotapp/platform/services/notifier/internal/app"
	"github.com/pivotapp/platform/services/notifier/internal/app/command"
	"github.com/pivotapp/platform/services/notifier/internal/domain/notification"
)

// Subjects notifier consumes from messenger's stream.
const (
	SubjectMessageCreated = "messenger.v1.message.created"
	SubjectMemberAdded    = "messenger.v1.room.member_added"
)

// Subjects lists what the consumer filters on.
var Subjects = []string{SubjectMessageCreated, SubjectMemberAdded}

// NewEventHandler returns the JetStream handler: it decodes the event and
// calls the application. A payload that does not decode, or a subject it
// does not know, is terminal: no retry can fix it.
func NewEventHandler(application app.Application) natsx.Handler {
	handle := eventHandler(application)
	return func(ctx context.Context, d natsx.Delivery) error {
		err := handle(ctx, d)
		if errors.Is(err, command.ErrMissingEventID) {
			return natsx.Terminal(err)
		}
		return err
	}
}

func eventHandler(application app.Application) natsx.Handler {
	return func(ctx context.Context, d natsx.Delivery) error {
		switch d.Subject {
		case SubjectMessageCreated:
			var ev natsv1.MessageCreated
			if err := proto.Unmarshal(d.Data, &ev); err != nil {
				return natsx.Terminal(fmt.Errorf("decode MessageCreated: %w", err))
			}
			return application.Commands.Notify.NewMessage(ctx, command.NotifyNewMessage{
				EventID: eventID(ev.GetEventId(), d),
				Message: notification.NewMessage{
					MessageID: ev.GetMessageId(), RoomID: ev.GetRoomId(), RoomName: ev.GetRoomName(),
					SenderID: ev.GetSenderUserId(), Body: ev.GetBody(), Recipients: ev.GetRecipientUserIds(),
					At: ev.GetOccurTime().AsTime(),
				},
			})
		case SubjectMemberAdded:
			var ev natsv1.RoomMemberAdded
			if err := proto.Unmarshal(d.Data, &ev); err != nil {
				return natsx.Terminal(fmt.Errorf("decode RoomMemberAdded: %w", err))
			}
			return application.Commands.Notify.AddedToRoom(ctx, command.NotifyAddedToRoom{
				EventID: eventID(ev.GetEventId(), d),
				Added: notification.AddedToRoom{
					RoomID: ev.GetRoomId(), RoomName: ev.GetRoomName(), UserID: ev.GetUserId(),
					AddedBy: ev.GetAddedByUserId(), At: ev.GetOccurTime().AsTime(),
				},
			})
		default:
			return natsx.Terminal(fmt.Errorf("unexpected subject %s", d.Subject))
		}
	}
}

// eventID prefers the payload's ID and falls back to Nats-Msg-Id; without
// either the event cannot be deduplicated, which the command rejects.
func eventID(fromPayload string, d natsx.Delivery) string {
	if fromPayload != "" {
		return fromPayload
	}
	return d.MsgID
}
