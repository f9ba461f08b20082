package room

import "context"

// Idempotency identifies a mutation for replay: the same principal sending
// the same key gets the first outcome back instead of a second change.
// An empty Key turns idempotency off for the call.
type Idempotency struct {
	Principal string
	Key       string
	Operation string
	// Fingerprint summarizes the request; a reused key with another
	// fingerprint fails with ErrIdempotencyKeyReused.
	Fingerprint string
}

// Repository stores rooms and messages. Each method is one transaction: it
// claims the idempotency key, loads what the function needs, applies it,
// stores the result with the room's events, and commits; a replayed key
// returns the stored outcome without calling the function.
type Repository interface {
	Create(ctx context.Context, idem Idempotency, create func() (*Room, error)) (*Room, error)
	Update(ctx context.Context, idem Idempotency, roomID string, update func(r *Room) error) (*Room, error)
	Post(ctx context.Context, idem Idempotency, roomID string, post func(r *Room) (*Message, error)) (*Message, error)
}

// ReadModel answers queries; it may read from a replica.
type ReadModel interface {
	Room(ctx context.Context, roomID string) (*Room, error)
	RoomsOf(ctx context.Context, userID string) ([]*Room, error)
	// Messages returns up to limit messages after the cursor (0 = from the
	// start), oldest first, and the cursor to continue from, or 0 on the
	// last page.
	Messages(ctx context.Context, roomID string, after int64, limit int) ([]*Message, int64, error)
}
