package licentia

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// The Go SDK against the conformance vectors generated from the Python core
// (../../conformance/vectors.json). Every section runs; a section this file
// does not know fails the suite until it is implemented.

type vectorCase = map[string]any

func loadVectors(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "conformance", "vectors.json"))
	if err != nil {
		t.Fatalf("the conformance vectors: %v", err)
	}
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sections); err != nil {
		t.Fatal(err)
	}
	return sections
}

func cases(t *testing.T, raw json.RawMessage) []vectorCase {
	t.Helper()
	var list []vectorCase
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

var vectorSections = map[string]func(*testing.T, json.RawMessage){
	"format":        func(t *testing.T, raw json.RawMessage) { mustEqual(t, string(raw), "1") },
	"about":         func(*testing.T, json.RawMessage) {},
	"canonical":     runCanonical,
	"signatures":    runSignatures,
	"fingerprints":  runFingerprints,
	"license_keys":  runLicenseKeys,
	"linux_readers": runLinuxReaders,
	"offline":       runOffline,
	"online":        runOnline,
}

func TestConformanceVectors(t *testing.T) {
	sections := loadVectors(t)
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		run, known := vectorSections[name]
		t.Run(name, func(t *testing.T) {
			if !known {
				t.Fatalf("section %q is not implemented by the Go client", name)
			}
			run(t, sections[name])
		})
	}
}

func mustEqual(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func str(c vectorCase, name string) string { s, _ := c[name].(string); return s }

func runCanonical(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			value, err := parseJSON([]byte(str(c, "json")))
			var out []byte
			if err == nil {
				out, err = canonicalJSON(value)
			}
			if c["error"] == true {
				if err == nil {
					t.Fatalf("accepted: %s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, string(out), str(c, "canonical"))
		})
	}
}

func pinnedOf(t *testing.T, c vectorCase) pinnedKeys {
	t.Helper()
	var texts []string
	for _, k := range c["pinned"].([]any) {
		texts = append(texts, k.(string))
	}
	keys, err := pinKeys(texts)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func timeOf(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		return time.Time{}
	}
	when, err := parseISO(s)
	if err != nil {
		t.Fatal(err)
	}
	return when
}

func runSignatures(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			payload, err := verifyDocumentText([]byte(str(c, "signed")), pinnedOf(t, c), str(c, "product"), timeOf(t, c["at"]))
			if c["valid"] != true {
				if err == nil || !isDocumentError(err) {
					t.Fatalf("not refused as an invalid document: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := canonicalJSON(payload)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, string(out), str(c, "payload_canonical"))
		})
	}
}

func stringMap(v any) map[string]string {
	m := map[string]string{}
	for k, x := range v.(map[string]any) {
		m[k] = x.(string)
	}
	return m
}

func runFingerprints(t *testing.T, raw json.RawMessage) {
	var sections map[string][]vectorCase
	if err := json.Unmarshal(raw, &sections); err != nil {
		t.Fatal(err)
	}
	for name, list := range sections {
		switch name {
		case "hashes":
			for _, c := range list {
				mustEqual(t, componentHash(str(c, "product"), str(c, "name"), str(c, "raw")), str(c, "hash"))
			}
		case "matching":
			for _, c := range list {
				t.Run(str(c, "name"), func(t *testing.T) {
					presented := stringMap(c["presented"])
					minMatch := int(c["min_match"].(float64))
					mustEqual(t, float64(requiredMatches(presented, minMatch)), c["required"])
					mustEqual(t, fingerprintMatches(c["stored"].(map[string]any), presented, minMatch), c["matches"])
				})
			}
		default:
			t.Fatalf("fingerprints.%s is not implemented by the Go client", name)
		}
	}
}

func runLicenseKeys(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			got, err := NormalizeKey(str(c, "input"))
			if c["valid"] == true {
				if err != nil {
					t.Fatal(err)
				}
				mustEqual(t, got, str(c, "normalized"))
			} else if err == nil || !errorsIs(err, ErrInvalidKey) {
				t.Fatalf("not refused: %q %v", got, err)
			}
		})
	}
}

func fingerprintCase(c vectorCase) Fingerprint {
	f := c["fingerprint"].(map[string]any)
	return Fingerprint{Components: stringMap(f["components"]), DataPath: f["data_path"].(string)}
}

func verdictOf(s Status) map[string]any {
	var days any
	if s.DaysLeft >= 0 {
		days = float64(s.DaysLeft)
	}
	var reason any
	if s.Reason != "" {
		reason = s.Reason
	}
	features := []any{}
	for _, f := range s.Features {
		features = append(features, f)
	}
	return map[string]any{"allowed": s.Allowed, "state": s.State, "reason": reason, "days_left": days, "features": features}
}

func parsedOrNil(t *testing.T, v any) any {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	value, err := parseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return value
}

func runOffline(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			status := decideOffline(offlineInputs{
				signed:            parsedOrNil(t, c["signed"]),
				keys:              pinnedOf(t, c),
				product:           str(c, "product"),
				fingerprint:       fingerprintCase(c),
				now:               timeOf(t, c["now"]),
				lastSeen:          timeOf(t, c["last_seen"]),
				offsetSeconds:     int64(c["offset_seconds"].(float64)),
				rollbackTolerance: time.Duration(c["rollback_tolerance_seconds"].(float64)) * time.Second,
			})
			mustEqual(t, verdictOf(status), c["expected"])
		})
	}
}

func runOnline(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			req := c["request"].(map[string]any)
			device, _ := req["device"].(string)
			a := asked{nonce: req["nonce"].(string), device: device, known: parsedOrNil(t, req["known"])}
			answer, err := parseJSON([]byte(str(c, "answer")))
			if err != nil {
				t.Fatal(err)
			}
			v := judgeAnswer(answer, a, pinnedOf(t, c), str(c, "product"), fingerprintCase(c), timeOf(t, c["now"]))
			found := map[string]any{"accepted": false, "refusal": v.refusal, "offset_seconds": nil, "status": nil}
			if v.accepted {
				found = map[string]any{"accepted": true, "refusal": nil, "offset_seconds": float64(v.clockOffset), "status": verdictOf(v.status)}
			}
			mustEqual(t, found, c["expected"])
		})
	}
}

func runLinuxReaders(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			root := t.TempDir()
			for path, content := range c["files"].(map[string]any) {
				full := filepath.Join(root, path)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content.(string)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, dir := range c["dirs"].([]any) {
				if err := os.MkdirAll(filepath.Join(root, dir.(string)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for path, target := range c["links"].(map[string]any) {
				full := filepath.Join(root, path)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target.(string), full); err != nil {
					t.Fatal(err)
				}
			}
			got := readLinuxHardware(root, str(c, "data_dir"))
			nullable := func(s string) any {
				if s == "" {
					return nil
				}
				return s
			}
			found := map[string]any{"machine": nullable(got.Machine), "disk": nullable(got.Disk), "cpu": nullable(got.CPU), "mac": nullable(got.MAC)}
			mustEqual(t, found, c["expected"])
		})
	}
}
