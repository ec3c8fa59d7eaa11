package licentia

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The proxy_trail section of the conformance vectors, from ../../conformance/vectors-pending.json
// while not every client follows it (from vectors.json once it moved there). A pending section this
// file does not know fails the suite, as in vectors.json.

var pendingSections = map[string]func(*testing.T, json.RawMessage){
	"format":      func(t *testing.T, raw json.RawMessage) { mustEqual(t, string(raw), "1") },
	"about":       func(*testing.T, json.RawMessage) {},
	"proxy_trail": runProxyTrail,
}

func TestPendingConformanceVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "conformance", "vectors-pending.json"))
	if err != nil {
		t.Fatalf("the pending conformance vectors: %v", err)
	}
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sections); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		run, known := pendingSections[name]
		t.Run(name, func(t *testing.T) {
			if !known {
				t.Fatalf("pending section %q is not implemented by the Go client", name)
			}
			run(t, sections[name])
		})
	}
}

func runProxyTrail(t *testing.T, raw json.RawMessage) {
	all := exactCases(t, raw)
	for i, c := range cases(t, raw) {
		exactCase := all[i].(map[string]any)
		t.Run(str(c, "name"), func(t *testing.T) {
			expected := c["expected"].(map[string]any)
			if str(c, "kind") == "targets" {
				fields := exactCase["fields"].(map[string]any)
				got := trailTargets(str(c, "product"), str(c, "mode"), str(c, "event_id"), fields)
				want := []string{}
				for _, target := range expected["targets"].([]any) {
					want = append(want, target.(string))
				}
				mustEqual(t, got, want)
				return
			}
			payload := map[string]any{"usage_report_once": true, "usage_report_days": exactCase["usage_report_days"]}
			if c["registered_at"] != nil {
				payload["registered_at"] = exactCase["registered_at"]
			}
			last, _ := c["last_usage_report"].(string)
			now, err := parseISO(str(c, "now"))
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, usageDue(payload, last, now), expected["send"].(bool))
		})
	}
}

// recordingProxy: what a proxy in front of the server logs, the request targets in order.
type recordingProxy struct {
	mu      sync.Mutex
	targets []string
}

func (p *recordingProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func TestTrailAgainstARealServer(t *testing.T) {
	ownUserConfig(t)
	server := startServer(t)
	ctx := context.Background()
	server.cli(t, "product", "facts", "my-app", "--enable")
	server.cli(t, "product", "trail", "my-app", "--on")
	key := strings.TrimSpace(server.issueKey(t))

	upstream, _ := url.Parse(server.url)
	forward := httputil.NewSingleHostReverseProxy(upstream)
	recorder := &recordingProxy{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorder.mu.Lock()
		recorder.targets = append(recorder.targets, r.Method+" "+r.URL.RequestURI())
		recorder.mu.Unlock()
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	lic, err := New(Options{
		ServerURL: proxy.URL, Product: "my-app", PublicKey: server.publicKey(t), DataDir: t.TempDir(),
		Hardware: newFakeMachine(t).reader(), AppVersion: "1.4 beta", Facts: []string{"user_name"},
		Trackers: []string{"R&D = 100%"},
	})
	if err != nil {
		t.Fatal(err)
	}
	first := lic.Check(ctx)
	if _, err := lic.Activate(ctx, key); err != nil {
		t.Fatal(err)
	}
	lic.Check(ctx)
	if n := lic.queue.count(); n != 0 {
		t.Fatalf("%d events still queued", n)
	}
	seen := recorder.seen()
	lastPost := -1
	for i, line := range seen {
		if line == "POST /v1/events" {
			lastPost = i
		}
	}
	pattern := regexp.MustCompile(`^GET /v1/trail\?p=my-app&m=(install|usage)&i=([0-9a-f]+)&n=1&version=1\.4%20beta&.*&tracker_1=R%26D%20%3D%20100%25&end=1$`)
	modes := map[string]string{}
	for i, line := range seen {
		if !strings.HasPrefix(line, "GET /v1/trail") {
			continue
		}
		m := pattern.FindStringSubmatch(line)
		if m == nil || i > lastPost || strings.Contains(line, key[:5]) || strings.Contains(line, first.Device) {
			t.Fatalf("trail GET %q (position %d, last POST %d)", line, i, lastPost)
		}
		modes[m[1]] = m[2]
	}
	if modes["install"] == "" || modes["usage"] == "" {
		t.Fatalf("trail GETs: %v", seen)
	}
	var report struct {
		Document struct {
			Events []map[string]any `json:"events"`
		} `json:"document"`
	}
	if err := json.Unmarshal([]byte(server.cli(t, "evidence", "--device", first.Device, "--format", "json")), &report); err != nil {
		t.Fatal(err)
	}
	installs := 0
	for _, e := range report.Document.Events {
		if e["kind"] == "install" {
			installs++
			trail, _ := e["trail"].(map[string]any)
			fields, _ := trail["fields"].(map[string]any)
			if fields["tracker_1"] != "R&D = 100%" {
				t.Fatalf("install recorded without its trail: %v", e)
			}
		}
	}
	if installs != 1 {
		t.Fatalf("%d install events", installs)
	}
}
