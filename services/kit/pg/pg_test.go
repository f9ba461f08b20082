package pg_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit/pg"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func open(t *testing.T) *pg.DB {
	t.Helper()
	url := testenv.Database(t)
	db, err := pg.Open(context.Background(), pg.Config{URL: pg.URL(url), ReaderURL: pg.URL(url), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestMigrateIsIdempotentAndSerialized(t *testing.T) {
	t.Parallel()
	db := open(t)
	set := pg.Migrations{Source: "test", FS: fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (id int PRIMARY KEY)`)},
		"0002_b.sql": {Data: []byte(`INSERT INTO a VALUES (1)`)},
	}}
	// Tasks starting together must not apply a migration twice.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pg.Migrate(context.Background(), db.Writer(), set) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := pg.Migrate(context.Background(), db.Writer(), set); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Reader().QueryRow(context.Background(), `SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows = %d, err %v; want each migration applied once", n, err)
	}
	bad := pg.Migrations{Source: "test", FS: fstest.MapFS{"0003_bad.sql": {Data: []byte(`CREATE TABLE a (id int)`)}}}
	if err := pg.Migrate(context.Background(), db.Writer(), bad); err == nil {
		t.Fatal("a failing migration must fail start-up")
	}
}

func TestWithTxRollsBack(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	if _, err := db.Writer().Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := db.WithTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t VALUES (1)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if err := db.WithTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (2)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var ids []int
	rows, _ := db.Reader().Query(ctx, `SELECT id FROM t`)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || len(ids) != 1 || ids[0] != 2 {
		t.Fatalf("ids = %v, err %v; want only the committed row", ids, err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if pg.IsUniqueViolation(db.WithTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (2)`)
		return err
	})) == false {
		t.Fatal("want a unique violation")
	}
}
