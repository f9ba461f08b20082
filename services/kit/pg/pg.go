// Package pg opens a service's Postgres writer and reader pools, runs its
// embedded migrations and wraps transactions. Aurora gives every cluster a
// writer endpoint and a reader endpoint; services send writes (and reads that
// must see them) to the writer and plain queries to the reader.
package pg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pivotapp/platform/services/kit"
)

// Config is the Postgres part of a service's environment.
type Config struct {
	URL       URL   `env:"DATABASE_URL,required" secret:"true" desc:"Postgres writer endpoint as a URL (postgres://user:password@host:5432/db); the service's own database"`
	ReaderURL URL   `env:"DATABASE_READER_URL" secret:"true" desc:"Postgres reader endpoint (Aurora reader) as a URL; unset sends reads to the writer"`
	MaxConns  int32 `env:"DATABASE_MAX_CONNS" envDefault:"10" desc:"maximum connections in each of the writer and reader pools"`
}

// CheckEnv validates what the types alone cannot.
func (c *Config) CheckEnv() []kit.EnvProblem {
	if c.MaxConns < 1 {
		return []kit.EnvProblem{{Name: "DATABASE_MAX_CONNS", Reason: fmt.Sprintf("must be at least 1, got %d", c.MaxConns)}}
	}
	return nil
}

// URL is a Postgres connection URL, checked by pgx's own parser at start-up.
type URL string

// UnmarshalText validates the URL.
func (u *URL) UnmarshalText(b []byte) error {
	if _, err := pgconn.ParseConfig(string(b)); err != nil {
		return errors.New("not a valid Postgres connection string")
	}
	*u = URL(b)
	return nil
}

// DB is a service's database: a writer pool and a reader pool (the same
// server when no reader endpoint is configured).
type DB struct {
	writer *pgxpool.Pool
	reader *pgxpool.Pool
}

// Open connects both pools and checks the writer answers.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	// Errors name the variable to fix; pgx's messages name the host and
	// user, never the password.
	writer, err := openPool(ctx, string(cfg.URL), cfg.MaxConns)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: open writer pool: %w", err)
	}
	reader := writer
	if cfg.ReaderURL != "" && cfg.ReaderURL != cfg.URL {
		if reader, err = openPool(ctx, string(cfg.ReaderURL), cfg.MaxConns); err != nil {
			writer.Close()
			return nil, fmt.Errorf("DATABASE_READER_URL: open reader pool: %w", err)
		}
	}
	db := &DB{writer: writer, reader: reader}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := writer.Ping(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("DATABASE_URL: cannot reach the writer: %w", err)
	}
	if reader != writer {
		if err := reader.Ping(pingCtx); err != nil {
			db.Close()
			return nil, fmt.Errorf("DATABASE_READER_URL: cannot reach the reader: %w", err)
		}
	}
	return db, nil
}

func openPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.Tracer = queryTracer{}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Writer is the pool for writes and for reads that must see them.
func (db *DB) Writer() *pgxpool.Pool { return db.writer }

// Reader is the pool for queries; on Aurora it may lag the writer slightly.
func (db *DB) Reader() *pgxpool.Pool { return db.reader }

// Ping checks both endpoints; /health uses it.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writer.Ping(ctx); err != nil {
		return fmt.Errorf("ping writer: %w", err)
	}
	if db.reader != db.writer {
		if err := db.reader.Ping(ctx); err != nil {
			return fmt.Errorf("ping reader: %w", err)
		}
	}
	return nil
}

// Close closes both pools, waiting for borrowed connections to return.
func (db *DB) Close() {
	if db.reader != db.writer {
		db.reader.Close()
	}
	db.writer.Close()
}

// CloseContext is Close bounded by ctx: a connection still borrowed when
// ctx ends (a query stuck on a lock) no longer holds the caller, and the
// pools finish closing in the background. It is the release step a
// kit.Process registers.
func (db *DB) CloseContext(ctx context.Context) error {
	done := make(chan struct{})
	go func() { db.Close(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("connections still in use: %w", ctx.Err())
	}
}

// WithTx runs fn in a writer transaction: committed if fn returns nil,
// rolled back otherwise. A serialization failure or deadlock reruns fn (up
// to three attempts), so fn must only touch the database.
func (db *DB) WithTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return WithTx(ctx, db.writer, fn)
}

// WithTx is DB.WithTx for any pool.
func WithTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
