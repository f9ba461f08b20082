package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Delivery is one message handed to a handler.
type Delivery struct {
	Subject string
	Data    []byte
	Header  nats.Header
	// MsgID is the producer's Nats-Msg-Id, if any.
	MsgID        string
	NumDelivered uint64
	StreamSeq    uint64
}

// Handler processes one delivery. Returning nil acks it; an error NAKs it
// for a later retry, unless it is Terminal or this was the last allowed
// delivery, in which case the message goes to the dead-letter subject.
type Handler func(ctx context.Context, d Delivery) error

type terminalError struct{ err error }

func (e terminalError) Error() string { return e.err.Error() }
func (e terminalError) Unwrap() error { return e.err }

// Terminal marks err as one no retry can fix (a payload that does not
// decode, an unknown subject): the message is dead-lettered at once.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return terminalError{err}
}

// IsTerminal reports whether err was marked Terminal.
func IsTerminal(err error) bool {
	var t terminalError
	return errors.As(err, &t)
}

// Dead-letter headers describe why and from where a message was parked.
const (
	HeaderDeadSubject    = "Pivot-Dead-Subject"
	HeaderDeadReason     = "Pivot-Dead-Reason"
	HeaderDeadStream     = "Pivot-Dead-Stream"
	HeaderDeadSequence   = "Pivot-Dead-Stream-Seq"
	HeaderDeadDeliveries = "Pivot-Dead-Deliveries"
	HeaderDeadConsumer   = "Pivot-Dead-Consumer"
)

// SubscriberConfig configures a durable pull consumer.
type SubscriberConfig struct {
	Stream  string
	Durable string
	// FilterSubjects selects the stream's subjects to consume.
	FilterSubjects []string
	// MaxDeliver is how many times a failing message is tried before it is
	// dead-lettered (default 5). The server-side limit is left unlimited so
	// a message is never dropped silently when dead-lettering itself fails.
	MaxDeliver int
	// Backoff lists the NAK delays by attempt; the last repeats (default
	// 1s, 5s, 30s).
	Backoff []time.Duration
	// AckWait is how long the server waits for an ack before redelivering
	// (default 30s); handlers are cancelled a little before it.
	AckWait time.Duration
	// DeadLetterSubject receives terminal failures, with the original
	// payload and headers plus the Pivot-Dead-* headers. It must be bound to
	// a stream to be kept.
	DeadLetterSubject string
	// Concurrency is how many messages are handled at once (default 8).
	Concurrency int
	// Declare creates or updates the consumer (STAGE=local); otherwise the
	// consumer must already exist (Terraform's pivot_nats_consumer).
	Declare bool
}

func (c *SubscriberConfig) defaults() {
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
}

// ConsumerConfig is the JetStream consumer the subscriber expects; Declare
// creates exactly this, and Terraform should declare the same.
func (c SubscriberConfig) ConsumerConfig() jetstream.ConsumerConfig {
	c.defaults()
	return jetstream.ConsumerConfig{
		Durable:        c.Durable,
		FilterSubjects: c.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  c.Concurrency * 8,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
}

// Subscriber consumes a durable consumer until stopped.
type Subscriber struct {
	cfg     SubscriberConfig
	js      jetstream.JetStream
	handler Handler
	logger  *slog.Logger
}

// NewSubscriber returns a subscriber; Run starts it.
func NewSubscriber(js jetstream.JetStream, cfg SubscriberConfig, h Handler, logger *slog.Logger) *Subscriber {
	if js == nil || h == nil || logger == nil {
		panic("natsx: nil dependency")
	}
	cfg.defaults()
	return &Subscriber{cfg: cfg, js: js, handler: h, logger: logger}
}

// Run consumes until ctx ends, then stops fetching, finishes the messages
// already received and returns. It waits for the consumer to exist, so a
// subscriber started while NATS is down begins once NATS is back.
func (s *Subscriber) Run(ctx context.Context) error {
	cons, err := s.bind(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	var inflight sync.WaitGroup
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		// Blocking here is the back-pressure: no more than Concurrency
		// handlers run, and the client stops pulling while they do.
		sem <- struct{}{}
		inflight.Go(func() {
			defer func() { <-sem }()
			s.handle(msg)
		})
	}, jetstream.PullMaxMessages(s.cfg.Concurrency*2), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			s.logger.Debug("consume", "consumer", s.cfg.Durable, "error", err)
		}
	}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", s.cfg.Durable, err)
	}
	<-ctx.Done()
	// Drain hands the already-buffered messages to the callback instead of
	// leaving them to redeliver after AckWait.
	cc.Drain()
	select {
	case <-cc.Closed():
	case <-time.After(s.cfg.AckWait):
	}
	inflight.Wait()
	return nil
}

func (s *Subscriber) bind(ctx context.Context) (jetstream.Consumer, error) {
	wait := 250 * time.Millisecond
	for {
		var cons jetstream.Consumer
		var err error
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if s.cfg.Declare {
			cons, err = s.js.CreateOrUpdateConsumer(callCtx, s.cfg.Stream, s.cfg.ConsumerConfig())
		} else {
			cons, err = s.js.Consumer(callCtx, s.cfg.Stream, s.cfg.Durable)
		}
		cancel()
		if err == nil {
			return cons, nil
		}
		if errors.Is(err, jetstream.ErrConsumerNotFound) && !s.cfg.Declare {
			s.logger.Error("consumer not declared; declare it with Terraform (pivot_nats_consumer)", "stream", s.cfg.Stream, "consumer", s.cfg.Durable)
		} else {
			s.logger.Warn("bind consumer", "stream", s.cfg.Stream, "consumer", s.cfg.Durable, "error", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (s *Subscriber) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		s.logger.Error("message without metadata; terminating it", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	d := Delivery{
		Subject:      msg.Subject(),
		Data:         msg.Data(),
		Header:       msg.Headers(),
		MsgID:        msg.Headers().Get(jetstream.MsgIDHeader),
		NumDelivered: meta.NumDelivered,
		StreamSeq:    meta.Sequence.Stream,
	}
	// Each message starts a new trace, linked to the producer's span: the
	// consumer's work is not part of the request that produced the event,
	// and retries hours later should not stretch that trace.
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", d.Subject),
			attribute.String("messaging.consumer.group.name", s.cfg.Durable),
			attribute.String("messaging.message.id", d.MsgID),
			attribute.Int64("messaging.nats.delivery_count", int64(d.NumDelivered)),
		),
	}
	if producer := ExtractSpanContext(d.Header); producer.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: producer}))
	}
	ctx, span := tracer.Start(context.Background(), "process "+d.Subject, opts...)
	defer span.End()
	// Finish before AckWait so a slow handler does not race its own
	// redelivery.
	ctx, cancel := context.WithTimeout(ctx, s.cfg.AckWait*9/10)
	defer cancel()

	herr := s.handler(ctx, d)
	if herr == nil {
		if err := msg.Ack(); err != nil {
			s.logger.WarnContext(ctx, "ack", "subject", d.Subject, "error", err)
		}
		return
	}
	span.RecordError(herr)
	span.SetStatus(codes.Error, herr.Error())
	terminal := IsTerminal(herr)
	if !terminal && int(d.NumDelivered) < s.cfg.MaxDeliver {
		delay := s.cfg.Backoff[min(int(d.NumDelivered), len(s.cfg.Backoff))-1]
		s.logger.WarnContext(ctx, "message failed; will retry", "subject", d.Subject, "delivery", d.NumDelivered, "retry_in", delay.String(), "error", herr)
		if err := msg.NakWithDelay(delay); err != nil {
			s.logger.WarnContext(ctx, "nak", "subject", d.Subject, "error", err)
		}
		return
	}
	reason := herr.Error()
	if !terminal {
		reason = fmt.Sprintf("gave up after %d deliveries: %s", d.NumDelivered, reason)
	}
	if err := s.deadLetter(ctx, d, meta, reason); err != nil {
		// Keep the message: retrying later is better than losing it.
		s.logger.ErrorContext(ctx, "dead-letter failed; will retry", "subject", d.Subject, "error", err)
		_ = msg.NakWithDelay(s.cfg.Backoff[len(s.cfg.Backoff)-1])
		return
	}
	s.logger.ErrorContext(ctx, "message dead-lettered", "subject", d.Subject, "dead_letter_subject", s.cfg.DeadLetterSubject, "reason", reason)
	if err := msg.Term(); err != nil {
		s.logger.WarnContext(ctx, "term", "subject", d.Subject, "error", err)
	}
}

func (s *Subscriber) deadLetter(ctx context.Context, d Delivery, meta *jetstream.MsgMetadata, reason string) error {
	if s.cfg.DeadLetterSubject == "" {
		return errors.New("no dead-letter subject configured")
	}
	out := nats.NewMsg(s.cfg.DeadLetterSubject)
	out.Data = d.Data
	for k, v := range d.Header {
		if k != jetstream.MsgIDHeader {
			out.Header[k] = v
		}
	}
	out.Header.Set(HeaderDeadSubject, d.Subject)
	out.Header.Set(HeaderDeadReason, reason)
	out.Header.Set(HeaderDeadStream, meta.Stream)
	out.Header.Set(HeaderDeadSequence, strconv.FormatUint(d.StreamSeq, 10))
	out.Header.Set(HeaderDeadDeliveries, strconv.FormatUint(d.NumDelivered, 10))
	out.Header.Set(HeaderDeadConsumer, s.cfg.Durable)
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// The ID makes a repeated dead-lettering of the same message a no-op.
	_, err := s.js.PublishMsg(pubCtx, out, jetstream.WithMsgID(fmt.Sprintf("%s:%s:%d", meta.Stream, s.cfg.Durable, d.StreamSeq)))
	return err
}
