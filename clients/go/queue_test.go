package licentia

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestTheEventJournalSurvivesACrashAndATornLine(t *testing.T) {
	q := newEventQueue(t.TempDir())
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	a, err := q.add(eventUsage, now, map[string]any{"app_version": "1.0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the next write leaves half a line.
	f, _ := os.OpenFile(q.path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.WriteString(`{"add":{"id":"half`)
	_ = f.Close()
	b, err := q.add(eventUninstall, now, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pending := q.pending()
	if len(pending) != 2 || pending[0].ID != a || pending[1].ID != b || pending[0].OccurredAt != "2026-12-05T12:00:00Z" {
		t.Fatalf("%+v", pending)
	}
	if err := q.markSent([]string{a}); err != nil {
		t.Fatal(err)
	}
	if p := q.pending(); len(p) != 1 || p[0].ID != b {
		t.Fatalf("%+v", p)
	}
	if err := q.markSent([]string{b}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q.path); !os.IsNotExist(err) {
		t.Fatal("an empty queue's journal stays")
	}
	if _, err := q.add("check", now, nil, nil); err == nil || !strings.Contains(err.Error(), "unknown event kind") {
		t.Fatalf("%v", err)
	}
}
