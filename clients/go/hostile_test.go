package licentia

// What the SDK survives: a server answering garbage, huge or deeply nested
// bodies, a fake server replaying genuine answers, damaged state and queue
// files. No panic, no error from Check, no grant beyond what the server signed.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// signer is a product signing key the test owns: the app pins publicKey, and sign makes genuine documents.
type signer struct {
	kid       string
	private   ed25519.PrivateKey
	publicKey string
}

func newSigner(t *testing.T) signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid := keyID(pub)
	return signer{kid: kid, private: priv, publicKey: "ed25519:" + kid + ":" + base64.RawURLEncoding.EncodeToString(pub)}
}

func (s signer) sign(t *testing.T, doc map[string]any) map[string]any {
	body, err := canonicalJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"document": doc, "kid": s.kid, "sig": base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.private, body))}
}

// fakeServer answers device calls as the real one does (a trial, bound to the request), and
// records every answer, so a test can replay a genuine one later or answer garbage instead.
type fakeServer struct {
	t        *testing.T
	key      signer
	srv      *httptest.Server
	mu       sync.Mutex
	answers  [][]byte
	override func(w http.ResponseWriter, r *http.Request) bool // true: answered
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t, key: newSigner(t)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	override := f.override
	f.mu.Unlock()
	if override != nil && override(w, r) {
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/check") && !strings.HasPrefix(r.URL.Path, "/v1/activate") {
		_, _ = w.Write([]byte(`{"accepted":0,"duplicates":0}`))
		return
	}
	var req struct {
		Nonce       string `json:"nonce"`
		Fingerprint struct {
			Components map[string]any `json:"components"`
			DataPath   string         `json:"data_path"`
		} `json:"fingerprint"`
	}
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &req)
	device := "dv_fake"
	now := time.Now().UTC()
	doc := map[string]any{
		"product": "my-app", "device": device, "machine": "mc_fake", "status": "trial",
		"components": req.Fingerprint.Components, "data_path": req.Fingerprint.DataPath,
		"trial_end": toISO(now.Add(14 * 24 * time.Hour)), "lease_until": toISO(now.Add(7 * 24 * time.Hour)),
		"grace_days": 3, "issued_at": toISO(now), "nonce": req.Nonce, "token": "tk_" + newEventID()[:8],
		"features": []any{}, "allowed": true,
	}
	answer := map[string]any{"signed": f.key.sign(f.t, doc)}
	if r.Header.Get("Authorization") == "" {
		answer["credential"] = map[string]any{"device": device, "secret": "secret-" + newEventID()}
	}
	body, _ := json.Marshal(answer)
	f.mu.Lock()
	f.answers = append(f.answers, body)
	f.mu.Unlock()
	_, _ = w.Write(body)
}

func (f *fakeServer) answer(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.override = fn
	f.mu.Unlock()
}

func (f *fakeServer) app(t *testing.T, m *fakeMachine, dir string) *Client {
	lic, err := New(Options{ServerURL: f.srv.URL, Product: "my-app", PublicKey: f.key.publicKey, DataDir: dir,
		Hardware: m.reader(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return lic
}

func TestAServerAnsweringGarbageNeverCrashesACheck(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	m, dir := newFakeMachine(t), t.TempDir()
	lic := f.app(t, m, dir)
	if s := lic.Check(context.Background()); !s.Allowed || !s.Online {
		t.Fatalf("%+v", s)
	}
	kept, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	huge := strings.Repeat("x", 2<<20)
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	bodies := map[string]func(w http.ResponseWriter){
		"not JSON":                func(w http.ResponseWriter) { _, _ = w.Write([]byte("<html>proxy</html>")) },
		"more than a megabyte":    func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"signed":"` + huge + `"}`)) },
		"nested 100,000 deep":     func(w http.ResponseWriter) { _, _ = w.Write([]byte(deep)) },
		"a server error":          func(w http.ResponseWriter) { w.WriteHeader(500) },
		"an error without a body": func(w http.ResponseWriter) { w.WriteHeader(403) },
		"JSON of the wrong shape": func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"signed":[1,2,3],"credential":"x"}`)) },
		"a float in the document": func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"signed":{"document":{"x":1.5},"kid":"k","sig":"AA"}}`))
		},
		"a lone surrogate": func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"signed":"\ud800"}`)) },
		"an integer beyond 64 bit": func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"signed":{"document":{"x":99999999999999999999}}}`))
		},
		"a redirect elsewhere": func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://127.0.0.1:9/")
			w.WriteHeader(302)
		},
	}
	for name, write := range bodies {
		t.Run(name, func(t *testing.T) {
			f.answer(func(w http.ResponseWriter, r *http.Request) bool { write(w); return true })
			s := lic.Check(context.Background())
			if !s.Allowed || s.Online || s.State != StateTrial {
				t.Fatalf("not the stored document's answer: %+v", s)
			}
			_, err := lic.Activate(context.Background(), validUnknownKey())
			if err == nil || !errors.Is(err, ErrLicentia) {
				t.Fatalf("activation: %v", err)
			}
			now, _ := os.ReadFile(filepath.Join(dir, "state.json"))
			var before, after map[string]any
			_ = json.Unmarshal(kept, &before)
			_ = json.Unmarshal(now, &after)
			if before["device"] != after["device"] || before["secret"] != after["secret"] {
				t.Fatal("garbage changed the credential")
			}
		})
	}
}

func TestAFakeServerReplayingGenuineAnswersIsRefusedAndNothingStored(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	m, dir := newFakeMachine(t), t.TempDir()
	lic := f.app(t, m, dir)
	lic.Check(context.Background())
	lic.Check(context.Background())
	f.mu.Lock()
	saved := f.answers[0] // the first contact's answer: genuine, signed, with a credential
	f.mu.Unlock()
	before, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	f.answer(func(w http.ResponseWriter, r *http.Request) bool { _, _ = w.Write(saved); return true })
	s := lic.Check(context.Background())
	if s.Online {
		t.Fatalf("a replayed answer was accepted: %+v", s)
	}
	_, err := lic.Deactivate(context.Background())
	if !errors.Is(err, ErrInvalidAnswer) || !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "nonce_mismatch") {
		t.Fatalf("%v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	var b, a map[string]any
	_ = json.Unmarshal(before, &b)
	_ = json.Unmarshal(after, &a)
	if b["state"] != nil && a["state"] != nil {
		var bs, as map[string]any
		_ = json.Unmarshal([]byte(b["state"].(string)), &bs)
		_ = json.Unmarshal([]byte(a["state"].(string)), &as)
		if bs["token"] != as["token"] {
			t.Fatal("the replayed answer's token was stored")
		}
	}
}

func TestAnAnswerSignedByAnotherKeyGrantsNothing(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	other := newSigner(t)
	lic, err := New(Options{ServerURL: f.srv.URL, Product: "my-app", PublicKey: other.publicKey, DataDir: t.TempDir(),
		Hardware: newFakeMachine(t).reader()})
	if err != nil {
		t.Fatal(err)
	}
	if s := lic.Check(context.Background()); s.Allowed || s.Reason != "no_document" {
		t.Fatalf("%+v", s)
	}
}

func TestACredentialWithALineBreakIsNeverSentAsAHeader(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	m, dir := newFakeMachine(t), t.TempDir()
	lic := f.app(t, m, dir)
	lic.Check(context.Background())
	// Re-seal the state with a secret carrying CR/LF, as someone with the secret could.
	s := lic.state.load()
	s.credential = &[2]string{"dv_fake", "secret\r\nX-Injected: 1"}
	if err := lic.state.save(&s); err != nil {
		t.Fatal(err)
	}
	var injected bool
	f.answer(func(w http.ResponseWriter, r *http.Request) bool {
		injected = injected || r.Header.Get("X-Injected") != "" || strings.ContainsAny(r.Header.Get("Authorization"), "\r\n")
		return false
	})
	status := lic.Check(context.Background())
	if injected {
		t.Fatal("the malformed secret reached the server")
	}
	if !status.Allowed {
		t.Fatalf("%+v", status)
	}
}

func TestDamagedFilesInTheDataDirectory(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	cases := map[string]func(t *testing.T, dir string){
		"garbage state":   func(t *testing.T, dir string) { write(t, filepath.Join(dir, "state.json"), "\x00\xff garbage") },
		"truncated state": func(t *testing.T, dir string) { cutInHalf(t, filepath.Join(dir, "state.json")) },
		"edited state":    func(t *testing.T, dir string) { edit(t, filepath.Join(dir, "state.json")) },
		"a directory":     func(t *testing.T, dir string) { replaceWithDir(t, filepath.Join(dir, "state.json")) },
		"deeply nested":   func(t *testing.T, dir string) { write(t, filepath.Join(dir, "state.json"), strings.Repeat("[", 1<<16)) },
		"a damaged queue": func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, queueFileName), "{\"add\":{\"id\":\n\x00\x01{{{")
		},
		"a queue as a dir": func(t *testing.T, dir string) { replaceWithDir(t, filepath.Join(dir, queueFileName)) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			m, dir := newFakeMachine(t), t.TempDir()
			lic := f.app(t, m, dir)
			lic.Check(context.Background())
			damage(t, dir)
			offline := lic.CheckOffline()
			if strings.Contains(name, "queue") {
				if !offline.Allowed {
					t.Fatalf("a damaged queue denied the stored document: %+v", offline)
				}
			} else if offline.Allowed || offline.Reason != "corrupt_state" {
				t.Fatalf("%+v", offline)
			}
			_ = lic.Check(context.Background()) // online again: no panic, an answer
			if _, err := lic.Flush(context.Background()); err != nil && !errors.Is(err, ErrLicentia) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func cutInHalf(t *testing.T, path string) {
	raw, _ := os.ReadFile(path)
	write(t, path, string(raw[:len(raw)/2]))
}

func edit(t *testing.T, path string) {
	raw, _ := os.ReadFile(path)
	write(t, path, strings.Replace(string(raw), `trial`, `registered`, 1))
}

func replaceWithDir(t *testing.T, path string) {
	_ = os.Remove(path)
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
}

func TestEveryRequestNamesTheClientAndTheProtocol(t *testing.T) {
	ownUserConfig(t)
	f := newFakeServer(t)
	var agent, protocol string
	f.answer(func(w http.ResponseWriter, r *http.Request) bool {
		agent, protocol = r.Header.Get("User-Agent"), r.Header.Get("Licentia-Protocol")
		return false
	})
	f.app(t, newFakeMachine(t), t.TempDir()).Check(context.Background())
	if !strings.HasPrefix(agent, "licentia-client-go/"+Version+" (protocol "+ProtocolVersion+"; go") || protocol != ProtocolVersion {
		t.Fatalf("%q %q", agent, protocol)
	}
}
