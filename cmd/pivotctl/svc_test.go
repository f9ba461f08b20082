package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pivotapp/platform/internal/svcinfo"
)

// A follow loop prints each complete line once; a partial last line waits
// for its newline.
func TestReadFromKeepsPartialLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "output.log")
	if err := os.WriteFile(p, []byte("one\ntwo\nthr"), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, off, err := readFrom(p, 0)
	if err != nil || strings.Join(lines, "|") != "one|two" || off != 8 {
		t.Fatalf("first read: %q, %d, %v", lines, off, err)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("ee\n")
	f.Close()
	lines, _, err = readFrom(p, off)
	if err != nil || strings.Join(lines, "|") != "three" {
		t.Fatalf("second read: %q, %v", lines, err)
	}
	if lines, _, err := readFrom(filepath.Join(t.TempDir(), "none"), 0); err != nil || lines != nil {
		t.Fatalf("missing file: %q, %v", lines, err)
	}
}

type fakeSource struct{ calls int }

func (f *fakeSource) Fetch(_ context.Context, since time.Time) ([]svcinfo.LogLine, time.Time, error) {
	f.calls++
	return []svcinfo.LogLine{{At: since, Stream: "app/1", Message: "hello"}}, since, nil
}

func TestStreamLogsWithoutFollowFetchesOnce(t *testing.T) {
	var out bytes.Buffer
	src := &fakeSource{}
	if err := streamLogs(context.Background(), &out, src, time.Unix(0, 0), false); err != nil {
		t.Fatal(err)
	}
	if src.calls != 1 || !strings.Contains(out.String(), "app/1 hello") {
		t.Fatalf("calls %d, output %q", src.calls, out.String())
	}
}

func TestPrintServiceStatusSaysWhetherTheReleaseRuns(t *testing.T) {
	var out bytes.Buffer
	printServiceStatus(&out, &svcinfo.Status{Service: "messenger", Cluster: "staging", State: "ACTIVE", Desired: 2, Running: 1,
		Revision: "staging-messenger:7", Image: "r/messenger:bbb", Tag: "bbb", ReleaseName: "staging", ReleaseTag: "aaa",
		Health: "1 of 2 tasks running", Tasks: []svcinfo.Task{{ID: "abc", Revision: "staging-messenger:7", LastStatus: "RUNNING", Health: "HEALTHY"}}})
	for _, want := range []string{"NOT STEADY (1 of 2 tasks running)", "staging names aaa, but the service runs bbb", "staging-messenger:7", "abc"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
