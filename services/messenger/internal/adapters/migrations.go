package adapters

import (
	"embed"
	"io/fs"

	"github.com/pivotapp/platform/services/kit/outbox"
	"github.com/pivotapp/platform/services/kit/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are messenger's schema changes, applied at start-up: the
// outbox's table and messenger's own.
func Migrations() []pg.Migrations {
	own, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return []pg.Migrations{outbox.Migrations, {Source: "messenger", FS: own}}
}
