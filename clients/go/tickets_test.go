package licentia

// Installer tickets end to end against a real `licentia serve`: a ticket minted with the CLI
// starts the first installation; another computer starting from the same file is recorded as a
// copy of that download; an edited ticket is refused and nothing is stored.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func (s *liveServer) mintTicket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), TicketFile)
	s.cli(t, "ticket", "mint", "--product", "my-app", "--out", path)
	return path
}

func (s *liveServer) ticketApp(t *testing.T, m *fakeMachine, dataDir, ticket string) *Client {
	t.Helper()
	lic, err := New(Options{
		ServerURL: s.url, Product: "my-app", PublicKey: s.publicKey(t), DataDir: dataDir,
		Hardware: m.reader(), AppVersion: "1.4.0", InstallerTicket: ticket,
	})
	if err != nil {
		t.Fatal(err)
	}
	return lic
}

// assertStarts: the server counts these installations and copies started from the ticket in path.
func assertStarts(t *testing.T, s *liveServer, path string, installations, copies int) {
	t.Helper()
	var ticket struct {
		Document struct{ Ticket string } `json:"document"`
	}
	raw, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(raw, &ticket) != nil || ticket.Document.Ticket == "" {
		t.Fatalf("the ticket: %v %s", err, raw)
	}
	var listed []struct {
		ID            string `json:"id"`
		Installations int    `json:"installations"`
		Copies        int    `json:"copies"`
	}
	out := s.cli(t, "ticket", "list", "--json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, row := range listed {
		if row.ID == ticket.Document.Ticket {
			if row.Installations != installations || row.Copies != copies {
				t.Fatalf("%s: %d installations, %d copies; want %d, %d", row.ID, row.Installations, row.Copies, installations, copies)
			}
			return
		}
	}
	t.Fatalf("ticket %s not listed: %s", ticket.Document.Ticket, out)
}

func TestInstallerTicketsAgainstARealServer(t *testing.T) {
	ownUserConfig(t)
	server := startServer(t)
	ctx := context.Background()

	t.Run("a leaked download started on another computer is recorded as a copy of it", func(t *testing.T) {
		ticket := server.mintTicket(t)
		buyer := server.ticketApp(t, newFakeMachine(t), t.TempDir(), ticket).Check(ctx)
		if !buyer.Allowed || !buyer.Online || buyer.CloneSuspected || buyer.Device == "" {
			t.Fatalf("the buyer: %+v", buyer)
		}
		pirate := server.ticketApp(t, newFakeMachine(t), t.TempDir(), ticket).Check(ctx)
		if pirate.State != StateTrial || !pirate.CloneSuspected || pirate.Device == buyer.Device {
			t.Fatalf("the copy: %+v", pirate) // the product's on_clone is flag: a flagged trial
		}
		assertStarts(t, server, ticket, 2, 1)
	})

	t.Run("a damaged or missing file is not sent: first contact goes on without it", func(t *testing.T) {
		ticket := server.mintTicket(t)
		raw, err := os.ReadFile(ticket)
		if err != nil {
			t.Fatal(err)
		}
		damaged := filepath.Join(t.TempDir(), TicketFile)
		if err := os.WriteFile(damaged, raw[:len(raw)-20], 0o600); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{damaged, filepath.Join(t.TempDir(), "nowhere.json")} {
			status := server.ticketApp(t, newFakeMachine(t), t.TempDir(), path).Check(ctx)
			if !status.Allowed || status.State != StateTrial || !status.Online || status.CloneSuspected {
				t.Fatalf("%s: %+v", path, status)
			}
		}
		assertStarts(t, server, ticket, 0, 0)
	})

	t.Run("an edited ticket is refused: the status is not allowed and nothing is stored", func(t *testing.T) {
		var signed map[string]any
		raw, err := os.ReadFile(server.mintTicket(t))
		if err != nil || json.Unmarshal(raw, &signed) != nil {
			t.Fatalf("the ticket: %v %s", err, raw)
		}
		signed["document"].(map[string]any)["customer"] = 1 // the pirate names another buyer
		edited, _ := json.Marshal(signed)
		path := filepath.Join(t.TempDir(), TicketFile)
		if err := os.WriteFile(path, edited, 0o600); err != nil {
			t.Fatal(err)
		}
		before := server.cli(t, "device", "list")
		lic := server.ticketApp(t, newFakeMachine(t), t.TempDir(), path)
		if status := lic.Check(ctx); status.Allowed || status.Reason != "no_document" || status.Online {
			t.Fatalf("%+v", status)
		}
		_, err = lic.Credential(ctx)
		var refused *ServerRefusedError
		if !errors.As(err, &refused) || refused.Code != "invalid_installer_ticket" || refused.Status != 422 {
			t.Fatalf("%v", err)
		}
		if _, err := os.Stat(filepath.Join(lic.DataDir(), "state.json")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a state was stored: %v", err)
		}
		if after := server.cli(t, "device", "list"); after != before {
			t.Fatalf("a device was created:\n%s\n%s", before, after)
		}
	})
}

func TestTheTicketGoesWithTheFirstCheckOnly(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	var mu sync.Mutex
	var sent []any
	f.answer(func(w http.ResponseWriter, r *http.Request) bool {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		if r.URL.Path == "/v1/check" {
			mu.Lock()
			sent = append(sent, body["installer_ticket"])
			mu.Unlock()
		}
		return false
	})
	text := `{"document":{"kind":"installer_ticket","product":"my-app","ticket":"it_1"},"kid":"k","sig":"s"}`
	path := filepath.Join(t.TempDir(), TicketFile)
	if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lic, err := New(Options{ServerURL: f.srv.URL, Product: "my-app", PublicKey: f.key.publicKey, DataDir: t.TempDir(),
		Hardware: newFakeMachine(t).reader(), InstallerTicket: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if status := lic.Check(context.Background()); !status.Allowed {
			t.Fatalf("%+v", status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	mustEqual(t, sent, []any{text, nil}) // the file's text (its final line break dropped); then a credential
}
