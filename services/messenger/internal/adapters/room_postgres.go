// Package adapters implements messenger's domain interfaces on Postgres,
// with events going out through the transactional outbox.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pivotapp/platform/services/kit/group"
	"github.com/pivotapp/platform/services/kit/outbox"
	"github.com/pivotapp/platform/services/kit/pg"
	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// RoomRepository is room.Repository and room.ReadModel on Postgres.
type RoomRepository struct {
	db       *pg.DB
	onCommit func()
	posts    *group.Committer[postRequest, *room.Message]
	rooms    *roomCache
}

var (
	_ room.Repository = (*RoomRepository)(nil)
	_ room.ReadModel  = (*RoomRepository)(nil)
)

// NewRoomRepository returns a repository on db; onCommit runs after every
// committed mutation (it wakes the outbox relay); abort ends the shared
// work of grouped posts (the process's shutdown deadline).
func NewRoomRepository(db *pg.DB, onCommit func(), abort context.Context) *RoomRepository {
	if db == nil || onCommit == nil || abort == nil {
		panic("adapters: nil dependency")
	}
	r := &RoomRepository{db: db, onCommit: onCommit, rooms: newRoomCache(10000)}
	r.posts = group.New(r.postGroup, group.Options{Name: "store messages", Abort: abort})
	return r
}

// Create implements room.Repository.
func (r *RoomRepository) Create(ctx context.Context, idem room.Idempotency, create func() (*room.Room, error)) (*room.Room, error) {
	var out *room.Room
	err := r.db.WithTx(ctx, func(tx pgx.Tx) error {
		prior, err := claimKey(ctx, tx, idem)
		if err != nil {
			return err
		}
		if prior != nil {
			out, err = replayRoom(ctx, tx, prior)
			return err
		}
		rm, err := create()
		if err != nil {
			return err
		}
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO rooms (id, name, created_by, created_at, member_count) VALUES ($1, $2, $3, $4, $5)`,
			rm.ID, rm.Name, rm.CreatedBy, rm.CreatedAt, len(rm.Members()))
		queueMembers(batch, rm.ID, rm.Members(), 0, rm.CreatedAt)
		if err := finish(ctx, tx, batch, idem, rm.ID, snapshotRoom(rm), rm.PopEvents()); err != nil {
			return fmt.Errorf("store room: %w", err)
		}
		out = rm
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.onCommit()
	return out, nil
}

// Update implements room.Repository.
func (r *RoomRepository) Update(ctx context.Context, idem room.Idempotency, roomID string, update func(*room.Room) error) (*room.Room, error) {
	var out *room.Room
	err := r.db.WithTx(ctx, func(tx pgx.Tx) error {
		prior, err := claimKey(ctx, tx, idem)
		if err != nil {
			return err
		}
		if prior != nil {
			out, err = replayRoom(ctx, tx, prior)
			return err
		}
		// FOR UPDATE: membership changes of one room are serialized, and
		// posts (FOR SHARE) see a consistent member list.
		rm, err := loadRoom(ctx, tx, roomID, "FOR UPDATE")
		if err != nil {
			return err
		}
		before := len(rm.Members())
		if err := update(rm); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		if added := rm.Members()[before:]; len(added) > 0 {
			queueMembers(batch, rm.ID, added, before, time.Now())
			batch.Queue(`UPDATE rooms SET member_count = $2 WHERE id = $1`, rm.ID, len(rm.Members()))
		}
		if err := finish(ctx, tx, batch, idem, rm.ID, snapshotRoom(rm), rm.PopEvents()); err != nil {
			return fmt.Errorf("store room: %w", err)
		}
		out = rm
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.rooms.forget(roomID)
	r.onCommit()
	return out, nil
}

// Post implements room.Repository. Posts arriving together share one
// transaction (group commit): a busy room's messages would otherwise pay a
// BEGIN, a COMMIT and five round trips each. A post the group cannot settle
// on its own terms (a replayed key, a failed group) runs alone afterwards.
func (r *RoomRepository) Post(ctx context.Context, idem room.Idempotency, roomID string, post func(*room.Room) (*room.Message, error)) (*room.Message, error) {
	msg, err := r.posts.Do(ctx, postRequest{idem: idem, roomID: roomID, post: post})
	if errors.Is(err, errRunAlone) || errors.Is(err, errGroupFailed) {
		return r.postAlone(ctx, idem, roomID, post)
	}
	if err != nil {
		return nil, err
	}
	r.onCommit()
	return msg, nil
}

type postRequest struct {
	idem   room.Idempotency
	roomID string
	post   func(*room.Room) (*room.Message, error)
}

var (
	// errRunAlone sends a post back from its group to the one-transaction
	// path.
	errRunAlone = errors.New("run alone")
	// errGroupFailed: nothing of the group was stored, so every post gets
	// a transaction of its own and with it its own outcome.
	errGroupFailed = errors.New("group failed")
)

type keyID struct{ principal, key string }

// postGroup stores a group of posts in two statements, whatever the
// group's size: one loads the rooms, and one claims the new idempotency keys
// (with their result) and inserts the messages and outbox rows of the posts
// whose key it claimed. That statement is atomic on its own, so no BEGIN or
// COMMIT is needed. A key that is already taken, or taken twice in the
// group, is left to postAlone, which waits on it with SELECT … FOR UPDATE
// and replays the first outcome.
func (r *RoomRepository) postGroup(ctx context.Context, items []*group.Item[postRequest, *room.Message]) error {
	if err := r.storeGroup(ctx, items); err != nil {
		for _, it := range items {
			if it.Err == nil {
				it.Set(nil, fmt.Errorf("%w: %w", errGroupFailed, err))
			}
		}
	}
	return nil
}

func (r *RoomRepository) storeGroup(ctx context.Context, items []*group.Item[postRequest, *room.Message]) error {
	rooms, err := r.groupRooms(ctx, items)
	if err != nil {
		return err
	}
	var (
		todo                                   = make(map[string]*group.Item[postRequest, *room.Message], len(items))
		taken                                  = map[keyID]bool{}
		principals, keys, operations, prints   []string
		ids, roomIDs, senders, bodies          []string
		memberCounts                           []int32
		at                                     []time.Time
		eventMsgs, eventIDs, subjects, headers []string
		payloads                               [][]byte
	)
	for _, it := range items {
		req := it.Req
		rm, ok := rooms[req.roomID]
		if !ok {
			it.Set(nil, room.ErrRoomNotFound)
			continue
		}
		k := keyID{req.idem.Principal, req.idem.Key}
		if req.idem.Key != "" && taken[k] {
			it.Set(nil, errRunAlone)
			continue
		}
		msg, err := req.post(rm)
		if errors.Is(err, room.ErrNotMember) {
			// The cached room may miss a member another task added: the
			// one-transaction path decides on the stored room.
			it.Set(nil, errRunAlone)
			continue
		}
		if err != nil {
			it.Set(nil, err)
			continue
		}
		events, err := toOutboxAll(rm.PopEvents())
		if err != nil {
			return err
		}
		rows, err := outbox.Encode(it.Ctx, events...)
		if err != nil {
			return err
		}
		taken[k] = req.idem.Key != ""
		todo[msg.ID] = it
		it.Result = msg
		// An empty key (idempotency off) is claimed by no row; the
		// statement lets those posts through.
		principals, keys = append(principals, req.idem.Principal), append(keys, req.idem.Key)
		operations, prints = append(operations, req.idem.Operation), append(prints, req.idem.Fingerprint)
		ids, roomIDs, senders = append(ids, msg.ID), append(roomIDs, msg.RoomID), append(senders, msg.SenderID)
		bodies, at = append(bodies, msg.Body), append(at, msg.CreatedAt)
		memberCounts = append(memberCounts, int32(len(rm.Members())))
		for _, row := range rows {
			eventMsgs, eventIDs, subjects = append(eventMsgs, msg.ID), append(eventIDs, row.EventID), append(subjects, row.Subject)
			payloads, headers = append(payloads, row.Payload), append(headers, string(row.Headers))
		}
	}
	if len(todo) == 0 {
		return nil
	}
	// UUIDs go as text[] and are cast by Postgres: pgx has no binary
	// encoding of []string as uuid[] and would build (and throw away) an
	// error for every parameter before falling back to text.
	stored, err := r.db.Writer().Query(ctx, `
		WITH input AS (
			-- Only posts whose room has the member list they were checked
			-- against (the cache may be stale) go on.
			SELECT t.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]::uuid[], $6::text[]::uuid[], $7::text[], $8::text[], $9::timestamptz[], $15::int[])
			         AS t(principal, key, operation, fingerprint, id, room_id, sender_id, body, created_at, member_count)
			JOIN rooms r ON r.id = t.room_id AND r.member_count = t.member_count
		), claimed AS (
			INSERT INTO idempotency_keys (principal, key, operation, fingerprint, result_id)
			SELECT principal, key, operation, fingerprint, id::text FROM input WHERE key <> ''
			ON CONFLICT DO NOTHING
			RETURNING result_id
		), stored AS (
			INSERT INTO messages (id, room_id, sender_id, body, created_at)
			SELECT id, room_id, sender_id, body, created_at FROM input
			WHERE key = '' OR id::text IN (SELECT result_id FROM claimed)
			RETURNING id
		), events AS (
			INSERT INTO outbox (event_id, subject, payload, headers)
			SELECT e.event_id, e.subject, e.payload, e.headers
			FROM unnest($10::text[]::uuid[], $11::text[], $12::text[], $13::bytea[], $14::jsonb[]) AS e(message_id, event_id, subject, payload, headers)
			WHERE e.message_id IN (SELECT id FROM stored)
		)
		SELECT id::text FROM stored`,
		principals, keys, operations, prints, ids, roomIDs, senders, bodies, at,
		eventMsgs, eventIDs, subjects, payloads, headers, memberCounts)
	if err != nil {
		return fmt.Errorf("store messages: %w", err)
	}
	var id string
	if _, err := pgx.ForEachRow(stored, []any{&id}, func() error {
		if it := todo[id]; it != nil {
			it.Set(it.Result, nil)
			delete(todo, id)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("store messages: %w", err)
	}
	// What is left lost its key to an earlier request, or its room gained
	// a member since it was cached.
	for _, it := range todo {
		r.rooms.forget(it.Req.roomID)
		it.Set(nil, errRunAlone)
	}
	return nil
}

// groupRooms returns the rooms of a group's posts: from the cache, and the
// missing ones in one query, without locks (see postAlone).
func (r *RoomRepository) groupRooms(ctx context.Context, items []*group.Item[postRequest, *room.Message]) (map[string]*room.Room, error) {
	out := make(map[string]*room.Room, 1)
	var missing []string
	for _, it := range items {
		id := it.Req.roomID
		if _, seen := out[id]; seen || slices.Contains(missing, id) {
			continue
		}
		if rm, ok := r.rooms.get(id); ok {
			out[id] = rm
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := loadRooms(ctx, r.db.Writer(), missing)
	if err != nil {
		return nil, err
	}
	for id, rm := range loaded {
		r.rooms.put(rm)
		out[id] = rm
	}
	return out, nil
}

// loadRooms reads rooms in one query, without locks (see postAlone).
func loadRooms(ctx context.Context, q querier, ids []string) (map[string]*room.Room, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.name, r.created_by, r.created_at,
		       coalesce((SELECT array_agg(m.user_id ORDER BY m.ord) FROM room_members m WHERE m.room_id = r.id), '{}')
		FROM rooms r WHERE r.id = ANY($1::text[]::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("load rooms: %w", err)
	}
	out := map[string]*room.Room{}
	var id, name, createdBy string
	var createdAt time.Time
	var members []string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name, &createdBy, &createdAt, &members}, func() error {
		out[id] = room.Restore(id, name, createdBy, createdAt, slices.Clone(members))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load rooms: %w", err)
	}
	return out, nil
}

// postAlone posts in a transaction of its own.
func (r *RoomRepository) postAlone(ctx context.Context, idem room.Idempotency, roomID string, post func(*room.Room) (*room.Message, error)) (*room.Message, error) {
	var out *room.Message
	err := r.db.WithTx(ctx, func(tx pgx.Tx) error {
		prior, err := claimKey(ctx, tx, idem)
		if err != nil {
			return err
		}
		if prior != nil {
			// Messages never change: the stored row is the first outcome.
			out, err = loadMessage(ctx, tx, prior.id)
			return err
		}
		// No row lock: members are only ever added, so a member seen here
		// stays one, and a post racing an AddRoomMember simply does not
		// notify the newcomer. Locking the room (FOR SHARE) would serialize
		// busy rooms on a MultiXact for nothing.
		rm, err := loadRoom(ctx, tx, roomID, "")
		if err != nil {
			return err
		}
		r.rooms.put(rm)
		msg, err := post(rm)
		if err != nil {
			return err
		}
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO messages (id, room_id, sender_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			msg.ID, msg.RoomID, msg.SenderID, msg.Body, msg.CreatedAt)
		if err := finish(ctx, tx, batch, idem, msg.ID, nil, rm.PopEvents()); err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		out = msg
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.onCommit()
	return out, nil
}

// claimKey takes the idempotency key, as the Echo guide's refund example
// does with its order row: insert it if new, then lock it with SELECT … FOR
// UPDATE (both in one round trip). A concurrent request with the same key
// waits on the lock and then sees the first one's result. A key is only
// remembered when its transaction commits, so a failed attempt can be
// retried with the same key. prior is nil when the key is new.
func claimKey(ctx context.Context, tx pgx.Tx, idem room.Idempotency) (prior *storedResult, err error) {
	if idem.Key == "" {
		return nil, nil
	}
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO idempotency_keys (principal, key, operation, fingerprint)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, idem.Principal, idem.Key, idem.Operation, idem.Fingerprint)
	var operation, fingerprint string
	var id *string
	var result []byte
	batch.Queue(`SELECT operation, fingerprint, result_id, result FROM idempotency_keys
		WHERE principal = $1 AND key = $2 FOR UPDATE`, idem.Principal, idem.Key).QueryRow(func(row pgx.Row) error {
		return row.Scan(&operation, &fingerprint, &id, &result)
	})
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if operation != idem.Operation || fingerprint != idem.Fingerprint {
		return nil, room.ErrIdempotencyKeyReused
	}
	if id == nil {
		return nil, nil
	}
	return &storedResult{id: *id, snapshot: result}, nil
}

// storedResult is what a key's first request produced: the ID of what it
// created or changed and, for rooms, the room as that request returned it.
type storedResult struct {
	id       string
	snapshot []byte
}

// roomSnapshot is a room as a mutation returned it, stored with its key.
type roomSnapshot struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Members   []string  `json:"members"`
}

func snapshotRoom(rm *room.Room) []byte {
	b, err := json.Marshal(roomSnapshot{ID: rm.ID, Name: rm.Name, CreatedBy: rm.CreatedBy, CreatedAt: rm.CreatedAt, Members: rm.Members()})
	if err != nil {
		panic(fmt.Sprintf("adapters: encode room snapshot: %v", err)) // strings and a time always encode
	}
	return b
}

// replayRoom returns the room a key's first request returned. Keys stored
// before results were kept (migration 0002) fall back to the room as it is.
func replayRoom(ctx context.Context, q querier, prior *storedResult) (*room.Room, error) {
	if prior.snapshot == nil {
		return loadRoom(ctx, q, prior.id, "")
	}
	var snap roomSnapshot
	if err := json.Unmarshal(prior.snapshot, &snap); err != nil {
		return nil, fmt.Errorf("replay room %s: %w", prior.id, err)
	}
	return room.Restore(snap.ID, snap.Name, snap.CreatedBy, snap.CreatedAt.UTC(), snap.Members), nil
}

// finish sends the change's statements (batch) together with its events
// for the outbox and the key's result: one round trip, in the transaction
// of the change itself. snapshot is the result a replay returns (nil when
// the stored row identified by resultID never changes).
func finish(ctx context.Context, tx pgx.Tx, batch *pgx.Batch, idem room.Idempotency, resultID string, snapshot []byte, events []room.Event) error {
	out, err := toOutboxAll(events)
	if err != nil {
		return err
	}
	if err := outbox.Queue(ctx, batch, out...); err != nil {
		return err
	}
	if idem.Key != "" {
		batch.Queue(`UPDATE idempotency_keys SET result_id = $3, result = $4 WHERE principal = $1 AND key = $2`, idem.Principal, idem.Key, resultID, snapshot)
	}
	return tx.SendBatch(ctx, batch).Close()
}

func queueMembers(batch *pgx.Batch, roomID string, members []string, firstOrd int, at time.Time) {
	if len(members) == 0 {
		return
	}
	ords := make([]int32, len(members))
	for i := range members {
		ords[i] = int32(firstOrd + i)
	}
	batch.Queue(`INSERT INTO room_members (room_id, user_id, ord, added_at)
		SELECT $1, u, o, $4 FROM unnest($2::text[], $3::int[]) AS t(u, o)`, roomID, members, ords, at)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadRoom reads a room and its members in one query; lock ("FOR UPDATE"
// or "") applies to the room row.
func loadRoom(ctx context.Context, q querier, roomID, lock string) (*room.Room, error) {
	var id, name, createdBy string
	var createdAt time.Time
	var members []string
	err := q.QueryRow(ctx, `SELECT r.id, r.name, r.created_by, r.created_at,
		       coalesce((SELECT array_agg(m.user_id ORDER BY m.ord) FROM room_members m WHERE m.room_id = r.id), '{}')
		FROM rooms r WHERE r.id = $1 `+lock, roomID).Scan(&id, &name, &createdBy, &createdAt, &members)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, room.ErrRoomNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load room: %w", err)
	}
	return room.Restore(id, name, createdBy, createdAt, members), nil
}

func loadMessage(ctx context.Context, q querier, id string) (*room.Message, error) {
	var m room.Message
	err := q.QueryRow(ctx, `SELECT id, room_id, sender_id, body, created_at FROM messages WHERE id = $1`, id).
		Scan(&m.ID, &m.RoomID, &m.SenderID, &m.Body, &m.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("load message: %w", err)
	}
	return &m, nil
}

// Room implements room.ReadModel.
func (r *RoomRepository) Room(ctx context.Context, roomID string) (*room.Room, error) {
	return loadRoom(ctx, r.db.Reader(), roomID, "")
}

// RoomsOf implements room.ReadModel.
func (r *RoomRepository) RoomsOf(ctx context.Context, userID string) ([]*room.Room, error) {
	rows, err := r.db.Reader().Query(ctx, `
		SELECT r.id, r.name, r.created_by, r.created_at,
		       (SELECT array_agg(all_m.user_id ORDER BY all_m.ord) FROM room_members all_m WHERE all_m.room_id = r.id)
		FROM room_members m JOIN rooms r ON r.id = m.room_id
		WHERE m.user_id = $1
		ORDER BY r.created_at, r.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*room.Room, error) {
		var id, name, createdBy string
		var createdAt time.Time
		var members []string
		if err := row.Scan(&id, &name, &createdBy, &createdAt, &members); err != nil {
			return nil, fmt.Errorf("list rooms: %w", err)
		}
		return room.Restore(id, name, createdBy, createdAt, members), nil
	})
}

// Messages implements room.ReadModel.
func (r *RoomRepository) Messages(ctx context.Context, roomID string, after int64, limit int) ([]*room.Message, int64, error) {
	rows, err := r.db.Reader().Query(ctx, `SELECT seq, id, room_id, sender_id, body, created_at FROM messages
		WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, roomID, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("list messages: %w", err)
	}
	var seqs []int64
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*room.Message, error) {
		var m room.Message
		var seq int64
		if err := row.Scan(&seq, &m.ID, &m.RoomID, &m.SenderID, &m.Body, &m.CreatedAt); err != nil {
			return nil, err
		}
		seqs = append(seqs, seq)
		return &m, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list messages: %w", err)
	}
	if len(msgs) <= limit {
		return msgs, 0, nil
	}
	return msgs[:limit], seqs[limit-1], nil
}
