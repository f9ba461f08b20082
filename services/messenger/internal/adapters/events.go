package adapters

import (
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	natsv1 "github.com/pivotapp/platform/services/internal/gen/messenger/nats/v1"
	"github.com/pivotapp/platform/services/kit/outbox"
	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// Stream and subjects of messenger's events (see
// proto/messenger/nats/v1/events.proto).
const (
	Stream                = "MESSENGER"
	SubjectPrefix         = "messenger.v1."
	SubjectRoomCreated    = "messenger.v1.room.created"
	SubjectMemberAdded    = "messenger.v1.room.member_added"
	SubjectMessageCreated = "messenger.v1.message.created"
)

// toOutbox maps a domain event to its published form.
func toOutbox(e room.Event) (outbox.Event, error) {
	switch e := e.(type) {
	case room.RoomCreated:
		return outbox.Event{ID: e.ID, Subject: SubjectRoomCreated, Payload: &natsv1.RoomCreated{
			EventId: e.ID, OccurTime: timestamppb.New(e.At), RoomId: e.RoomID, Name: e.Name,
			CreatedByUserId: e.CreatedBy, MemberUserIds: e.Members,
		}}, nil
	case room.MemberAdded:
		return outbox.Event{ID: e.ID, Subject: SubjectMemberAdded, Payload: &natsv1.RoomMemberAdded{
			EventId: e.ID, OccurTime: timestamppb.New(e.At), RoomId: e.RoomID, RoomName: e.RoomName,
			UserId: e.UserID, AddedByUserId: e.AddedBy,
		}}, nil
	case room.MessagePosted:
		return outbox.Event{ID: e.ID, Subject: SubjectMessageCreated, Payload: &natsv1.MessageCreated{
			EventId: e.ID, OccurTime: timestamppb.New(e.At), MessageId: e.Message.ID, RoomId: e.Message.RoomID,
			RoomName: e.RoomName, SenderUserId: e.Message.SenderID, Body: e.Message.Body, RecipientUserIds: e.Recipients,
		}}, nil
	default:
		return outbox.Event{}, fmt.Errorf("no published form for event %T", e)
	}
}

func toOutboxAll(events []room.Event) ([]outbox.Event, error) {
	out := make([]outbox.Event, 0, len(events))
	for _, e := range events {
		oe, err := toOutbox(e)
		if err != nil {
			return nil, err
		}
		out = append(out, oe)
	}
	return out, nil
}
