package pg

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrations is one set of forward-only SQL migrations: files named
// <version>_<what>.sql, applied in lexical order. Source names the set, so
// a service's own files and a kit package's (the outbox) never collide.
type Migrations struct {
	Source string
	FS     fs.FS
}

// migrationLock is the advisory lock key that serializes migrations when
// several tasks start at once.
const migrationLock = 7_114_201_603

// Migrate applies every migration not yet recorded in schema_migrations,
// each in its own transaction, holding an advisory lock for the duration.
func Migrate(ctx context.Context, pool *pgxpool.Pool, sets ...Migrations) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) }()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		source     text NOT NULL,
		version    text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (source, version))`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, set := range sets {
		names, err := fs.Glob(set.FS, "*.sql")
		if err != nil {
			return fmt.Errorf("list %s migrations: %w", set.Source, err)
		}
		sort.Strings(names)
		for _, name := range names {
			version := path.Base(name)
			var applied bool
			if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE source = $1 AND version = $2)`,
				set.Source, version).Scan(&applied); err != nil {
				return fmt.Errorf("check migration %s/%s: %w", set.Source, version, err)
			}
			if applied {
				continue
			}
			sql, err := fs.ReadFile(set.FS, name)
			if err != nil {
				return fmt.Errorf("read migration %s/%s: %w", set.Source, version, err)
			}
			err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, string(sql)); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (source, version) VALUES ($1, $2)`, set.Source, version)
				return err
			})
			if err != nil {
				return fmt.Errorf("apply migration %s/%s: %w", set.Source, version, err)
			}
		}
	}
	return nil
}
