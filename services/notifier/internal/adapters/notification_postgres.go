// Package adapters implements notifier's domain interfaces on Postgres.
package adapters

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pivotapp/platform/services/kit/group"
	"github.com/pivotapp/platform/services/kit/pg"
	"github.com/pivotapp/platform/services/notifier/internal/domain/notification"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are notifier's schema changes, applied at start-up.
func Migrations() []pg.Migrations {
	own, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return []pg.Migrations{{Source: "notifier", FS: own}}
}

// NotificationRepository is notification.Repository and ReadModel on
// Postgres.
type NotificationRepository struct {
	db     *pg.DB
	stores *group.Committer[storeRequest, bool]
}

var (
	_ notification.Repository = (*NotificationRepository)(nil)
	_ notification.ReadModel  = (*NotificationRepository)(nil)
)

// NewNotificationRepository returns a repository on db; abort ends the
// shared work of grouped stores (the process's shutdown deadline).
func NewNotificationRepository(db *pg.DB, abort context.Context) *NotificationRepository {
	if db == nil || abort == nil {
		panic("adapters: nil dependency")
	}
	r := &NotificationRepository{db: db}
	r.stores = group.New(r.storeGroup, group.Options{Name: "store notifications", Abort: abort})
	return r
}

// StoreOnce implements notification.Repository. Events arriving together
// are stored in one statement (group commit, see kit/group): it claims the
// events in processed_events and inserts the notifications of the claimed
// ones only. A statement is atomic on its own, so no BEGIN or COMMIT is
// needed; a concurrent duplicate waits on the event's key and then inserts
// nothing.
func (r *NotificationRepository) StoreOnce(ctx context.Context, eventID string, ns []notification.Notification) (bool, error) {
	return r.stores.Do(ctx, storeRequest{eventID: eventID, notifications: ns})
}

type storeRequest struct {
	eventID       string
	notifications []notification.Notification
}

func (r *NotificationRepository) storeGroup(ctx context.Context, items []*group.Item[storeRequest, bool]) error {
	var events, ids, users, kinds, rooms, messages, actors, texts, eventOf []string
	var at []time.Time
	first := map[string]*group.Item[storeRequest, bool]{}
	for _, it := range items {
		e := it.Req.eventID
		if first[e] != nil {
			// The same event twice in one group: the first copy stores it.
			it.Set(true, nil)
			continue
		}
		first[e] = it
		events = append(events, e)
		for _, x := range it.Req.notifications {
			ids, users, kinds, rooms = append(ids, x.ID), append(users, x.UserID), append(kinds, string(x.Kind)), append(rooms, x.RoomID)
			messages, actors, texts, at = append(messages, x.MessageID), append(actors, x.ActorID), append(texts, x.Text), append(at, x.CreatedAt)
			eventOf = append(eventOf, e)
		}
	}
	rows, err := r.db.Writer().Query(ctx, `
		WITH claimed AS (
			INSERT INTO processed_events (event_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING event_id
		), inserted AS (
			INSERT INTO notifications (id, user_id, kind, room_id, message_id, actor_user_id, text, created_at, event_id)
			SELECT x.id, x.u, x.k, x.r, x.m, x.a, x.t, x.at, x.e
			FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::text[])
			     AS x(id, u, k, r, m, a, t, at, e)
			WHERE x.e IN (SELECT event_id FROM claimed)
		)
		SELECT event_id FROM claimed`,
		events, ids, users, kinds, rooms, messages, actors, texts, at, eventOf)
	if err != nil {
		return fmt.Errorf("store notifications: %w", err)
	}
	var claimed string
	if _, err := pgx.ForEachRow(rows, []any{&claimed}, func() error {
		if it := first[claimed]; it != nil {
			it.Set(false, nil)
			delete(first, claimed)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("store notifications: %w", err)
	}
	// Not claimed: an earlier delivery stored it.
	for _, it := range first {
		it.Set(true, nil)
	}
	return nil
}

// ForUser implements notification.ReadModel.
func (r *NotificationRepository) ForUser(ctx context.Context, userID string, limit int) ([]notification.Notification, error) {
	rows, err := r.db.Reader().Query(ctx, `SELECT id, user_id, kind, room_id, message_id, actor_user_id, text, created_at
		FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (notification.Notification, error) {
		var n notification.Notification
		var kind string
		err := row.Scan(&n.ID, &n.UserID, &kind, &n.RoomID, &n.MessageID, &n.ActorID, &n.Text, &n.CreatedAt)
		n.Kind = notification.Kind(kind)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}
