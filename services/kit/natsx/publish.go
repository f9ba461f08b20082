package natsx

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

var tracer = otel.Tracer("github.com/pivotapp/platform/services/kit/natsx")

// Publisher publishes protobuf events to JetStream.
type Publisher struct {
	js jetstream.JetStream
}

// NewPublisher returns a publisher on js.
func NewPublisher(js jetstream.JetStream) *Publisher {
	if js == nil {
		panic("natsx: nil JetStream")
	}
	return &Publisher{js: js}
}

// Outgoing is one encoded event.
type Outgoing struct {
	Subject string
	// ID becomes Nats-Msg-Id: JetStream drops a second publish with the same
	// ID within the stream's duplicate window, so a retried publish is safe.
	ID   string
	Data []byte
	// Header carries extra headers; trace headers are added to it.
	Header nats.Header
}

// Encode marshals m into an Outgoing.
func Encode(subject, id string, m proto.Message) (Outgoing, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return Outgoing{}, fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return Outgoing{Subject: subject, ID: id, Data: data}, nil
}

// Publish publishes m and waits for the stream's acknowledgement.
func (p *Publisher) Publish(ctx context.Context, subject, id string, m proto.Message) error {
	out, err := Encode(subject, id, m)
	if err != nil {
		return err
	}
	wait, err := p.PublishAsync(ctx, out)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// PublishAsync sends out under a producer span that is a child of ctx's
// span, with the span's context in the headers, and returns a function that
// waits for the stream's acknowledgement. Sending many and then waiting for
// all is how the outbox relay keeps its throughput.
func (p *Publisher) PublishAsync(ctx context.Context, out Outgoing) (wait func(context.Context) error, err error) {
	_, span := tracer.Start(ctx, "publish "+out.Subject,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", out.Subject),
			attribute.String("messaging.message.id", out.ID),
		),
	)
	msg := nats.NewMsg(out.Subject)
	msg.Data = out.Data
	for k, v := range out.Header {
		msg.Header[k] = v
	}
	InjectTrace(trace.ContextWithSpan(ctx, span), msg.Header)
	var opts []jetstream.PublishOpt
	if out.ID != "" {
		opts = append(opts, jetstream.WithMsgID(out.ID))
	}
	future, err := p.js.PublishMsgAsync(msg, opts...)
	if err != nil {
		fail(span, err)
		span.End()
		return nil, fmt.Errorf("publish %s: %w", out.Subject, err)
	}
	return func(ctx context.Context) error {
		defer span.End()
		select {
		case ack := <-future.Ok():
			span.SetAttributes(attribute.Int64("messaging.nats.stream.sequence", int64(ack.Sequence)), attribute.Bool("messaging.nats.duplicate", ack.Duplicate))
			return nil
		case err := <-future.Err():
			fail(span, err)
			return fmt.Errorf("publish %s: %w", out.Subject, err)
		case <-ctx.Done():
			err := errors.New("no acknowledgement before the deadline")
			fail(span, err)
			return fmt.Errorf("publish %s: %w", out.Subject, err)
		}
	}, nil
}

func fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
