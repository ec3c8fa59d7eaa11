package licentia

// A wrong clock on the client's machine. The other clients run under Debian's
// faketime (LD_PRELOAD); it cannot move a Go program's clock: Go reads the time
// through the vDSO, not through libc, and links no libc at all by default
// (checked: `faketime '2030-01-01' ./prog` prints today's date). So the clock is
// the SDK's injectable one (Options.Clock), shifted as faketime would shift
// it, against a real `licentia serve` on the right clock.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type shiftedClock struct{ by time.Duration }

func (c shiftedClock) Now() time.Time { return time.Now().Add(c.by) }

const deadServer = "http://127.0.0.1:9" // nothing listens: the check falls back to the stored document

func TestAWrongClockOnTheClientsMachine(t *testing.T) {
	ownUserConfig(t)
	server := startServer(t)
	ctx := context.Background()
	check := func(t *testing.T, m *fakeMachine, dir string, shift time.Duration, url string) Status {
		t.Helper()
		lic, err := New(Options{ServerURL: url, Product: "my-app", PublicKey: server.publicKey(t), DataDir: dir,
			Hardware: m.reader(), Clock: shiftedClock{shift}, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return lic.Check(ctx)
	}
	keptOffset := func(t *testing.T, dir string) int64 {
		raw, _ := os.ReadFile(filepath.Join(dir, "state.json"))
		var outer struct{ State string }
		var inner struct {
			ClockOffset int64 `json:"clock_offset"`
		}
		if json.Unmarshal(raw, &outer) != nil || json.Unmarshal([]byte(outer.State), &inner) != nil {
			t.Fatal("unreadable state")
		}
		return inner.ClockOffset
	}

	for _, c := range []struct {
		label string
		shift time.Duration
	}{{"5 hours behind", -5 * time.Hour}, {"2 days behind", -48 * time.Hour}, {"5 hours ahead", 5 * time.Hour}} {
		t.Run("a clock "+c.label+": online works, then offline works, judged at the server's time", func(t *testing.T) {
			m, dir := newFakeMachine(t), t.TempDir()
			online := check(t, m, dir, c.shift, server.url)
			if !online.Allowed || !online.Online || online.State != StateTrial {
				t.Fatalf("%+v", online)
			}
			if off := keptOffset(t, dir) + int64(c.shift/time.Second); off < -5 || off > 5 {
				t.Fatalf("the offset kept does not undo the clock's shift: %d", keptOffset(t, dir))
			}
			offline := check(t, m, dir, c.shift, deadServer)
			if !offline.Allowed || offline.Online || offline.State != StateTrial || offline.Device != online.Device {
				t.Fatalf("%+v", offline)
			}
			if d := offline.DaysLeft - online.DaysLeft; d < -1 || d > 1 {
				t.Fatalf("%d days left offline, %d online", offline.DaysLeft, online.DaysLeft)
			}
		})
	}

	t.Run("a clock wound back after a check (5 hours behind, then 8) is noticed offline", func(t *testing.T) {
		m, dir := newFakeMachine(t), t.TempDir()
		if !check(t, m, dir, -5*time.Hour, server.url).Online {
			t.Fatal("not online")
		}
		if !check(t, m, dir, -5*time.Hour, deadServer).Allowed {
			t.Fatal("the same wrong clock was denied")
		}
		rolled := check(t, m, dir, -8*time.Hour, deadServer)
		if rolled.Allowed || rolled.State != StateClockRollback || rolled.Reason != "clock_rollback" {
			t.Fatalf("%+v", rolled)
		}
	})

	t.Run("a clock 2 days ahead, then put right, is locked out offline until it goes online again", func(t *testing.T) {
		m, dir := newFakeMachine(t), t.TempDir()
		if ahead := check(t, m, dir, 48*time.Hour, server.url); !ahead.Allowed || !ahead.Online {
			t.Fatalf("%+v", ahead)
		}
		if s := check(t, m, dir, 0, deadServer); s.Reason != "clock_rollback" {
			t.Fatalf("%+v", s)
		}
		if s := check(t, m, dir, 0, server.url); !s.Allowed || !s.Online {
			t.Fatalf("%+v", s)
		}
		if off := keptOffset(t, dir); off < -5 || off > 5 {
			t.Fatalf("offset %d", off)
		}
		if s := check(t, m, dir, 0, deadServer); !s.Allowed || s.Online || s.State != StateTrial {
			t.Fatalf("%+v", s)
		}
	})
}
