package kit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pivotapp/platform/services/kit"
)

func TestHealth(t *testing.T) {
	h := kit.NewHealth()
	dbErr := error(nil)
	h.Add("database", func(context.Context) error { return dbErr })
	h.Add("nats", func(context.Context) error { return nil })
	get := func() (int, kit.HealthReport) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
		var rep kit.HealthReport
		if err := json.NewDecoder(rec.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return rec.Code, rep
	}
	if code, rep := get(); code != 200 || rep.Status != "ok" {
		t.Fatalf("%d %+v", code, rep)
	}
	dbErr = errors.New("connection refused")
	code, rep := get()
	if code != 503 || rep.Status != "unavailable" || rep.Checks["database"].Error != "connection refused" || !rep.Checks["nats"].OK {
		t.Fatalf("%d %+v", code, rep)
	}
	dbErr = nil
	h.SetDraining()
	if code, rep := get(); code != 503 || rep.Status != "draining" {
		t.Fatalf("draining: %d %+v", code, rep)
	}
}
