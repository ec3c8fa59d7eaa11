package licentia

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestFactsAreOffUnlessEnabledAndTheUsersOptOutWins(t *testing.T) {
	ownUserConfig(t)
	t.Setenv("DO_NOT_TRACK", "")
	t.Setenv("LICENTIA_NO_FACTS", "")
	f := newFakeServer(t)
	var sent map[string]any
	f.answer(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/check" {
			raw, _ := io.ReadAll(r.Body)
			var body map[string]any
			_ = json.Unmarshal(raw, &body)
			sent, _ = body["facts"].(map[string]any)
			r.Body = io.NopCloser(strings.NewReader(string(raw)))
		}
		return false
	})
	m := newFakeMachine(t)
	plain := f.app(t, m, t.TempDir())
	plain.Check(context.Background())
	if len(sent) != 0 {
		t.Fatalf("facts sent without being enabled: %v", sent)
	}
	lic, err := New(Options{ServerURL: f.srv.URL, Product: "my-app", PublicKey: f.key.publicKey, DataDir: t.TempDir(),
		Hardware: m.reader(), Facts: []string{"os_name", "local_time"}, Authors: []string{"Ada\tLovelace"}})
	if err != nil {
		t.Fatal(err)
	}
	lic.Check(context.Background())
	if sent["os_name"] == nil || sent["local_time"] == nil || sent["author_1"] != `Ada\tLovelace` || sent["user_name"] != nil {
		t.Fatalf("%v", sent)
	}
	if err := lic.OptOutOfFacts(true); err != nil {
		t.Fatal(err)
	}
	lic.Check(context.Background())
	if len(sent) != 0 {
		t.Fatalf("facts sent after the user opted out: %v", sent)
	}
	if _, err := New(Options{ServerURL: f.srv.URL, Product: "my-app", PublicKey: f.key.publicKey, DataDir: t.TempDir(),
		Facts: []string{"shoe_size"}}); !errors.Is(err, ErrConfiguration) {
		t.Fatalf("%v", err)
	}
}
