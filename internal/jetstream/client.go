package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/jsm.go"
	"github.com/nats-io/jsm.go/api"
	"github.com/nats-io/nats.go"
)

// JetStream error codes (nats-server's errors.json).
const (
	errCodeStreamNotFound   = 10059
	errCodeConsumerNotFound = 10014
)

var (
	// ErrNotFound means the stream or consumer does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means Create found the stream or consumer already there.
	ErrExists = errors.New("already exists")
)

// Client manages streams and consumers in the account a connection is
// authenticated to.
type Client struct {
	nc  *nats.Conn
	mgr *jsm.Manager
}

// New returns a client over nc. It does not contact the server.
func New(nc *nats.Conn) (*Client, error) {
	if nc == nil {
		return nil, errors.New("new jetstream client: no nats connection")
	}
	mgr, err := jsm.New(nc, jsm.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("new jetstream client: %w", err)
	}
	return &Client{nc: nc, mgr: mgr}, nil
}

// ServerVersion is the version of the server the connection reached.
func (c *Client) ServerVersion() string { return c.nc.ConnectedServerVersion() }

// APILevel asks the server ($JS.API.INFO) which JetStream API level it
// implements. A server before 2.11 reports 0.
func (c *Client) APILevel(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	lvl, err := c.mgr.MetaApiLevel(true)
	if err != nil {
		return 0, fmt.Errorf("read jetstream api level: %w", err)
	}
	return lvl, nil
}

// CheckAPILevel fails with field errors when the server's API level is below
// what reqs need.
func (c *Client) CheckAPILevel(ctx context.Context, reqs []Requirement) error {
	if len(reqs) == 0 {
		return nil
	}
	lvl, err := c.APILevel(ctx)
	if err != nil {
		return err
	}
	return CheckAPILevel(reqs, lvl, c.ServerVersion())
}

// Stream reads a stream's configuration; ErrNotFound when it is gone.
func (c *Client) Stream(ctx context.Context, name string) (StreamConfig, error) {
	if err := ctx.Err(); err != nil {
		return StreamConfig{}, err
	}
	s, err := c.mgr.LoadStream(name)
	if err != nil {
		return StreamConfig{}, notFound(fmt.Errorf("read stream %s: %w", name, err), err)
	}
	return streamFromAPI(s.Configuration()), nil
}

// StreamState is the part of a stream's state callers commonly show.
type StreamState struct {
	Messages  uint64
	Bytes     uint64
	FirstSeq  uint64
	LastSeq   uint64
	Consumers int
	Created   time.Time
}

// StreamInfo reads a stream's configuration and state.
func (c *Client) StreamInfo(ctx context.Context, name string) (StreamConfig, StreamState, error) {
	if err := ctx.Err(); err != nil {
		return StreamConfig{}, StreamState{}, err
	}
	s, err := c.mgr.LoadStream(name)
	if err != nil {
		return StreamConfig{}, StreamState{}, notFound(fmt.Errorf("read stream %s: %w", name, err), err)
	}
	info, err := s.LatestInformation()
	if err != nil {
		return StreamConfig{}, StreamState{}, fmt.Errorf("read stream %s: %w", name, err)
	}
	st := StreamState{
		Messages: info.State.Msgs, Bytes: info.State.Bytes, FirstSeq: info.State.FirstSeq,
		LastSeq: info.State.LastSeq, Consumers: info.State.Consumers, Created: info.Created,
	}
	return streamFromAPI(info.Config), st, nil
}

// CreateStream creates a stream, or adopts one of that name it created
// before; ErrExists when one of that name exists that it did not create.
func (c *Client) CreateStream(ctx context.Context, cfg StreamConfig) (StreamConfig, error) {
	if err := cfg.Validate(); err != nil {
		return StreamConfig{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	a, err := cfg.toAPI()
	if err != nil {
		return StreamConfig{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return StreamConfig{}, err
	}
	known, err := c.mgr.IsKnownStream(cfg.Name)
	if err != nil {
		return StreamConfig{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	if known {
		s, err := c.mgr.LoadStream(cfg.Name)
		if err != nil {
			return StreamConfig{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
		if s.Metadata()[ManagedMetadataKey] != ManagedMetadataValue {
			return StreamConfig{}, fmt.Errorf("create stream %s: %w", cfg.Name, ErrExists)
		}
		// Ours, from a create whose apply stopped before saving it.
		return c.UpdateStream(ctx, cfg)
	}
	s, err := c.mgr.NewStreamFromDefault(cfg.Name, a)
	if err != nil {
		return StreamConfig{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	return streamFromAPI(s.Configuration()), nil
}

// UpdateStream replaces an existing stream's configuration with cfg;
// ErrNotFound when it is gone. The server refuses changes it cannot make
// in place (see ReplaceReasons).
func (c *Client) UpdateStream(ctx context.Context, cfg StreamConfig) (StreamConfig, error) {
	if err := cfg.Validate(); err != nil {
		return StreamConfig{}, fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	a, err := cfg.toAPI()
	if err != nil {
		return StreamConfig{}, fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return StreamConfig{}, err
	}
	s, err := c.mgr.LoadStream(cfg.Name)
	if err != nil {
		return StreamConfig{}, notFound(fmt.Errorf("update stream %s: %w", cfg.Name, err), err)
	}
	if err := s.UpdateConfiguration(a); err != nil {
		return StreamConfig{}, fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	return streamFromAPI(s.Configuration()), nil
}

// EnsureStream creates the stream or brings an existing one to cfg.
func (c *Client) EnsureStream(ctx context.Context, cfg StreamConfig) (StreamConfig, error) {
	out, err := c.UpdateStream(ctx, cfg)
	if errors.Is(err, ErrNotFound) {
		return c.CreateStream(ctx, cfg)
	}
	return out, err
}

// DeleteStream deletes a stream and its consumers; a missing stream is not
// an error.
func (c *Client) DeleteStream(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.mgr.DeleteStream(name); err != nil && !jsm.IsNatsError(err, errCodeStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", name, err)
	}
	return nil
}

// ConsumerState is the part of a consumer's state callers commonly show.
type ConsumerState struct {
	Pending    uint64
	AckPending int
	Waiting    int
	Paused     bool
	Created    time.Time
}

// Consumer reads a durable consumer's configuration; ErrNotFound when it
// or its stream is gone.
func (c *Client) Consumer(ctx context.Context, stream, name string) (ConsumerConfig, error) {
	cfg, _, err := c.ConsumerInfo(ctx, stream, name)
	return cfg, err
}

// ConsumerInfo reads a consumer's configuration and state.
func (c *Client) ConsumerInfo(ctx context.Context, stream, name string) (ConsumerConfig, ConsumerState, error) {
	if err := ctx.Err(); err != nil {
		return ConsumerConfig{}, ConsumerState{}, err
	}
	cons, err := c.mgr.LoadConsumer(stream, name)
	if err != nil {
		return ConsumerConfig{}, ConsumerState{}, notFound(fmt.Errorf("read consumer %s/%s: %w", stream, name, err), err)
	}
	info, err := cons.LatestState()
	if err != nil {
		return ConsumerConfig{}, ConsumerState{}, fmt.Errorf("read consumer %s/%s: %w", stream, name, err)
	}
	st := ConsumerState{Pending: info.NumPending, AckPending: info.NumAckPending, Waiting: info.NumWaiting, Paused: info.Paused, Created: info.Created}
	return consumerFromAPI(stream, info.Config), st, nil
}

// CreateConsumer creates a durable consumer, or adopts one of that name it
// created before; ErrExists when one exists that it did not create,
// ErrNotFound when the stream does not.
func (c *Client) CreateConsumer(ctx context.Context, cfg ConsumerConfig) (ConsumerConfig, error) {
	if err := ctx.Err(); err != nil {
		return ConsumerConfig{}, err
	}
	known, err := c.mgr.IsKnownConsumer(cfg.Stream, cfg.Durable)
	if err != nil && !jsm.IsNatsError(err, errCodeStreamNotFound) {
		return ConsumerConfig{}, fmt.Errorf("create consumer %s/%s: %w", cfg.Stream, cfg.Durable, err)
	}
	if known {
		cons, err := c.mgr.LoadConsumer(cfg.Stream, cfg.Durable)
		if err != nil {
			return ConsumerConfig{}, fmt.Errorf("create consumer %s/%s: %w", cfg.Stream, cfg.Durable, err)
		}
		if cons.Configuration().Metadata[ManagedMetadataKey] != ManagedMetadataValue {
			return ConsumerConfig{}, fmt.Errorf("create consumer %s/%s: %w", cfg.Stream, cfg.Durable, ErrExists)
		}
		// Ours, from a create whose apply stopped before saving it.
		return c.putConsumer(ctx, "update", cfg)
	}
	return c.putConsumer(ctx, "create", cfg)
}

// UpdateConsumer replaces an existing consumer's configuration with cfg;
// ErrNotFound when it or its stream is gone.
func (c *Client) UpdateConsumer(ctx context.Context, cfg ConsumerConfig) (ConsumerConfig, error) {
	if err := ctx.Err(); err != nil {
		return ConsumerConfig{}, err
	}
	known, err := c.mgr.IsKnownConsumer(cfg.Stream, cfg.Durable)
	if err != nil && !jsm.IsNatsError(err, errCodeStreamNotFound) {
		return ConsumerConfig{}, fmt.Errorf("update consumer %s/%s: %w", cfg.Stream, cfg.Durable, err)
	}
	if !known {
		return ConsumerConfig{}, fmt.Errorf("update consumer %s/%s: %w", cfg.Stream, cfg.Durable, ErrNotFound)
	}
	return c.putConsumer(ctx, "update", cfg)
}

// EnsureConsumer creates the consumer or brings an existing one to cfg.
func (c *Client) EnsureConsumer(ctx context.Context, cfg ConsumerConfig) (ConsumerConfig, error) {
	return c.putConsumer(ctx, "ensure", cfg)
}

func (c *Client) putConsumer(ctx context.Context, verb string, cfg ConsumerConfig) (ConsumerConfig, error) {
	if err := cfg.Validate(); err != nil {
		return ConsumerConfig{}, fmt.Errorf("%s consumer %s/%s: %w", verb, cfg.Stream, cfg.Durable, err)
	}
	a, err := cfg.toAPI()
	if err != nil {
		return ConsumerConfig{}, fmt.Errorf("%s consumer %s/%s: %w", verb, cfg.Stream, cfg.Durable, err)
	}
	cons, err := c.mgr.NewConsumerFromDefault(cfg.Stream, a)
	if err != nil {
		return ConsumerConfig{}, notFound(fmt.Errorf("%s consumer %s/%s: %w", verb, cfg.Stream, cfg.Durable, err), err)
	}
	got := consumerFromAPI(cfg.Stream, cons.Configuration())
	// The server keeps an existing consumer's pause deadline on update; only
	// the pause API moves it.
	if !got.PauseUntil.Equal(cfg.PauseUntil) {
		if err := c.setPause(ctx, cfg.Stream, cfg.Durable, cfg.PauseUntil); err != nil {
			return ConsumerConfig{}, fmt.Errorf("%s consumer %s/%s: %w", verb, cfg.Stream, cfg.Durable, err)
		}
		got.PauseUntil = cfg.PauseUntil.UTC()
	}
	return got, nil
}

// setPause sets a consumer's pause deadline; the zero time resumes it. A
// deadline in the past is stored too (the consumer simply runs), which jsm's
// Pause refuses.
func (c *Client) setPause(ctx context.Context, stream, name string, until time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var body []byte
	if !until.IsZero() {
		var err error
		if body, err = json.Marshal(api.JSApiConsumerPauseRequest{PauseUntil: until.UTC()}); err != nil {
			return fmt.Errorf("pause: %w", err)
		}
	}
	msg, err := c.nc.RequestWithContext(ctx, fmt.Sprintf(api.JSApiConsumerPauseT, stream, name), body)
	if err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	var resp api.JSApiConsumerPauseResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	if err := resp.ToError(); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	return nil
}

// DeleteConsumer deletes a consumer; a missing consumer or stream is not an
// error.
func (c *Client) DeleteConsumer(ctx context.Context, stream, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := c.mgr.DeleteConsumer(stream, name)
	if err != nil && !jsm.IsNatsError(err, errCodeConsumerNotFound) && !jsm.IsNatsError(err, errCodeStreamNotFound) {
		return fmt.Errorf("delete consumer %s/%s: %w", stream, name, err)
	}
	return nil
}

// notFound wraps ErrNotFound into wrapped when cause is the server saying
// the stream or consumer does not exist.
func notFound(wrapped, cause error) error {
	if jsm.IsNatsError(cause, errCodeStreamNotFound) || jsm.IsNatsError(cause, errCodeConsumerNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, wrapped)
	}
	var apiErr api.ApiError
	if errors.As(cause, &apiErr) && apiErr.NotFoundError() {
		return fmt.Errorf("%w: %w", ErrNotFound, wrapped)
	}
	return wrapped
}
