// Package adapters implements notifier's domain interfaces on Postgres.
package adapters

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"

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
	db *pg.DB
}

var (
	_ notification.Repository = (*NotificationRepository)(nil)
	_ notification.ReadModel  = (*NotificationRepository)(nil)
)

// NewNotificationRepository returns a repository on db.
func NewNotificationRepository(db *pg.DB) *NotificationRepository {
	if db == nil {
		panic("adapters: nil db")
	}
	return &NotificationRepository{db: db}
}

// StoreOnce implements notification.Repository. One statement claims the
// event in processed_events and inserts the notifications only if the claim
// succeeded, inside the transaction; a concurrent duplicate waits on the
// event's key and then inserts nothing.
func (r *NotificationRepository) StoreOnce(ctx context.Context, eventID string, ns []notification.Notification) (bool, error) {
	n := len(ns)
	ids, users, kinds, rooms := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	messages, actors, texts, at := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, x := range ns {
		ids[i], users[i], kinds[i], rooms[i] = x.ID, x.UserID, string(x.Kind), x.RoomID
		messages[i], actors[i], texts[i], at[i] = x.MessageID, x.ActorID, x.Text, x.CreatedAt
	}
	claimed := false
	err := r.db.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			WITH claimed AS (
				INSERT INTO processed_events (event_id) VALUES ($9) ON CONFLICT DO NOTHING RETURNING event_id
			), inserted AS (
				INSERT INTO notifications (id, user_id, kind, room_id, message_id, actor_user_id, text, created_at, event_id)
				SELECT x.id, x.u, x.k, x.r, x.m, x.a, x.t, x.at, $9
				FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
				     AS x(id, u, k, r, m, a, t, at)
				WHERE EXISTS (SELECT 1 FROM claimed)
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM claimed)`,
			ids, users, kinds, rooms, messages, actors, texts, at, eventID).Scan(&claimed)
		if err != nil {
			return fmt.Errorf("store notifications: %w", err)
		}
		return nil
	})
	return !claimed, err
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
