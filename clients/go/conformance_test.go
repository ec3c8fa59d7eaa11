package licentia

import (
	"encoding/base64"
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
	"format":            func(t *testing.T, raw json.RawMessage) { mustEqual(t, string(raw), "1") },
	"about":             func(*testing.T, json.RawMessage) {},
	"canonical":         runCanonical,
	"signatures":        runSignatures,
	"fingerprints":      runFingerprints,
	"license_keys":      runLicenseKeys,
	"linux_readers":     runLinuxReaders,
	"offline":           runOffline,
	"online":            runOnline,
	"credentials":       runCredentials,
	"latest_release":    runLatestRelease,
	"last_seen":         runLastSeen,
	"entitlements":      runEntitlements,
	"licensee":          runLicensee,
	"data_paths":        runDataPaths,
	"consumption":       runConsumption,
	"state":             runState,
	"leases":            runLeases,
	"airgapped":         runAirgapped,
	"hardware_readers":  runHardwareReaders,
	"installer_tickets": runInstallerTickets,
	"proxy_trail":       runProxyTrail, // trail_test.go
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
			// The offline check's reader: the same components, without reading the VM and container signals.
			components := got
			components.VirtualSignals = nil
			mustEqual(t, readLinuxComponents(root, str(c, "data_dir")), components)
		})
	}
}

// jsonEqual compares got (Go values) with a vector's expected value as JSON gives them.
func jsonEqual(t *testing.T, got, want any) {
	t.Helper()
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("got  %s\nwant %s", raw, mustJSON(want))
	}
}

func mustJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// exactCases: a section's cases as the SDK parses JSON (integers exact, json.Number).
func exactCases(t *testing.T, raw json.RawMessage) []any {
	t.Helper()
	value, err := parseJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	return value.([]any)
}

// exact: a case's member as the SDK parses JSON (integers beyond 2^53 exact).
func exact(t *testing.T, all []any, i int, name string) any {
	t.Helper()
	return all[i].(map[string]any)[name]
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func runCredentials(t *testing.T, raw json.RawMessage) {
	all := exactCases(t, raw)
	for i, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			got := credentialOf(exact(t, all, i, "credential"), str(c, "document_device"))
			var cred any
			if got != nil {
				cred = []string{got[0], got[1]}
			}
			jsonEqual(t, map[string]any{"valid": got != nil, "credential": cred}, c["expected"])
		})
	}
}

func runLatestRelease(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			value, err := parseJSON([]byte(str(c, "answer")))
			found := map[string]any{"invalid_answer": err != nil, "release": nil}
			if err == nil {
				if fields := releaseFields(value); fields != nil {
					found["release"] = fields
				}
			}
			jsonEqual(t, found, c["expected"])
		})
	}
}

func runLastSeen(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			lastSeen, now := timeOf(t, c["last_seen"]), timeOf(t, c["now"])
			tolerance := time.Duration(c["rollback_tolerance_seconds"].(float64)) * time.Second
			found := map[string]any{"rollback": false, "last_seen": c["last_seen"], "offset_seconds": nil}
			if issued := timeOf(t, c["issued_at"]); !issued.IsZero() {
				// Online: an answer bound to its request.
				found["last_seen"] = toISO(seen(lastSeen, now, true))
				found["offset_seconds"] = clockOffset(issued, now)
			} else if rolledBack(lastSeen, now, tolerance) {
				found["rollback"] = true
			} else {
				found["last_seen"] = toISO(seen(lastSeen, now, false))
			}
			jsonEqual(t, found, c["expected"])
		})
	}
}

func runEntitlements(t *testing.T, raw json.RawMessage) {
	all := exactCases(t, raw)
	for i, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			status := statusOf(exact(t, all, i, "payload").(map[string]any), timeOf(t, c["now"]), false)
			hasFeature := map[string]any{}
			var answers []any
			for _, q := range exact(t, all, i, "queries").([]any) {
				pair := q.([]any)
				name := pair[0].(string)
				hasFeature[name] = status.HasFeature(name)
				def := pair[1]
				if n, ok := integer(def); ok {
					def = n
				}
				answers = append(answers, []any{name, def, status.Entitlement(name, def)})
			}
			features := append([]string{}, status.Features...)
			jsonEqual(t, map[string]any{
				"allowed": status.Allowed, "entitlements": status.Entitlements, "features": features,
				"has_feature": hasFeature, "entitlement": answers,
			}, c["expected"])
		})
	}
}

func runLicensee(t *testing.T, raw json.RawMessage) {
	all := exactCases(t, raw)
	for i, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			payload := exact(t, all, i, "payload").(map[string]any)
			found := map[string]any{"customer": nil, "maintenance": nil, "latest_release": nil}
			if f := customerFields(payload); f != nil {
				found["customer"] = f
			}
			if f := maintenanceFields(payload["maintenance"]); f != nil {
				found["maintenance"] = f
			}
			if f := releaseFields(payload["latest_release"]); f != nil {
				found["latest_release"] = f
			}
			jsonEqual(t, found, c["expected"])
			// The status carries the same, typed.
			status := statusOf(payload, timeOf(t, c["now"]), false)
			if (status.Customer == nil) != (found["customer"] == nil) || (status.Maintenance == nil) != (found["maintenance"] == nil) {
				t.Fatalf("the status differs: %+v", status)
			}
		})
	}
}

func runDataPaths(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "os")+": "+str(c, "name"), func(t *testing.T) {
			absolute := absoluteDataPath(str(c, "os") == "windows", str(c, "cwd"), str(c, "data_dir"))
			jsonEqual(t, map[string]any{"absolute": absolute, "data_path": dataPathHash(str(c, "product"), absolute)}, c["expected"])
		})
	}
}

func consumptionMap(c *Consumption) any {
	if c == nil {
		return nil
	}
	return map[string]any{
		"meter": c.Meter, "used": c.Used, "limit": c.Limit, "remaining": c.Remaining, "period": c.Period,
		"period_start": c.PeriodStart, "period_end": orNil(c.PeriodEnd), "replayed": c.Replayed,
	}
}

func runConsumption(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			outcome, code, consumption := consumptionOutcome(str(c, "meter"), timeOf(t, c["now"]), int(c["status"].(float64)), []byte(str(c, "body")))
			jsonEqual(t, map[string]any{"outcome": outcome, "code": orNil(code), "consumption": consumptionMap(consumption)}, c["expected"])
		})
	}
}

func runState(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			bytes, err := base64.StdEncoding.DecodeString(str(c, "base64"))
			if err != nil {
				t.Fatal(err)
			}
			s := decodeState(bytes)
			var cred, signed, names any
			if s.credential != nil {
				cred = []string{s.credential[0], s.credential[1]}
			}
			if s.signed != nil {
				signed = s.signed
				doc, _ := s.signed["document"].(map[string]any)
				names = doc["data_path"] == dataPathHash(str(c, "product"), str(c, "data_dir"))
			}
			jsonEqual(t, map[string]any{
				"corrupt": s.corrupt, "credential": cred, "signed": signed, "token": orNil(s.token),
				"install_reported": s.installReported, "last_usage_report": orNil(s.lastUsageReport),
				"last_seen": orNil(s.lastSeen), "clock_offset": s.clockOffset, "file_clock_skew": s.fileClockSkew,
				"escrowed": s.escrowed, "facts_opt_out": s.factsOptOut, "document_names_this_data_path": names,
			}, c["expected"])
		})
	}
}

func leaseMap(payload map[string]any, at time.Time) map[string]any {
	terms := termsOf(payload, at)
	state := LeaseActive
	if terms.borrowed {
		state = LeaseBorrowed
	}
	return map[string]any{
		"id": terms.id, "state": state, "expires_at": toISO(terms.expiresAt), "seconds_left": terms.left.Seconds(),
		"heartbeat_seconds": terms.every.Seconds(), "entitlements": terms.entitlements, "features": terms.features,
	}
}

func runLeases(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			keys, fp := pinnedOf(t, c), fingerprintCase(c)
			var payload map[string]any
			var why string
			var at time.Time
			switch str(c, "mode") {
			case "answer":
				req := c["request"].(map[string]any)
				device, _ := req["device"].(string)
				a := asked{nonce: req["nonce"].(string), device: device, known: parsedOrNil(t, req["known"])}
				answer, err := parseJSON([]byte(str(c, "answer")))
				if err != nil {
					t.Fatal(err)
				}
				payload, _, why = judgeLeaseAnswer(answer, a, keys, str(c, "product"), fp)
				if why == "" {
					at = payload["_issued"].(time.Time)
				}
			case "stored":
				at = serverTime(timeOf(t, c["now"]), int64(c["offset_seconds"].(float64)))
				payload, why = judgeStoredLease(parsedOrNil(t, c["signed"]), keys, str(c, "product"), fp, at)
			default:
				t.Fatalf("lease mode %q is not implemented by the Go client", str(c, "mode"))
			}
			found := map[string]any{"accepted": why == "", "refusal": orNil(why), "lease": nil}
			if why == "" {
				found["lease"] = leaseMap(payload, at)
			}
			jsonEqual(t, found, c["expected"])
		})
	}
}

func rawKey(t *testing.T, v any) []byte {
	raw, ok := b64d(v)
	if !ok {
		t.Fatalf("not base64url: %v", v)
	}
	return raw
}

func runAirgapped(t *testing.T, raw json.RawMessage) {
	all := exactCases(t, raw)
	for i, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			switch str(c, "mode") {
			case "request":
				in := c["inputs"].(map[string]any)
				r := activationRequest{
					product: str(in, "product"), key: str(in, "key"), nonce: str(in, "nonce"), createdAt: str(in, "created_at"),
					os: str(in, "os"), fingerprint: exact(t, all, i, "inputs").(map[string]any)["fingerprint"].(map[string]any),
					box: rawKey(t, in["box"]), proof: rawKey(t, in["proof"]), appVersion: in["app_version"],
				}
				text, err := r.text()
				if err != nil {
					t.Fatal(err)
				}
				jsonEqual(t, map[string]any{"text": text}, c["expected"])
			case "response":
				var pending []pendingRequest
				for _, p := range c["pending"].([]any) {
					entry := p.(map[string]any)
					pending = append(pending, pendingRequest{nonce: str(entry, "nonce"), box: rawKey(t, entry["box"])})
				}
				at := serverTime(timeOf(t, c["now"]), int64(c["offset_seconds"].(float64)))
				opened, why, _ := openResponse(str(c, "response"), str(c, "product"), pinnedOf(t, c), fingerprintCase(c), pending, at)
				found := map[string]any{"accepted": why == "", "refusal": orNil(why), "credential": nil, "activation": nil, "status": nil}
				if why == "" {
					found["credential"] = []string{opened.credential[0], opened.credential[1]}
					found["activation"] = opened.activation
					found["status"] = verdictOf(statusOf(opened.payload, at, false))
				}
				jsonEqual(t, found, c["expected"])
			default:
				t.Fatalf("air-gapped mode %q is not implemented by the Go client", str(c, "mode"))
			}
		})
	}
}

func runHardwareReaders(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "os")+": "+str(c, "name"), func(t *testing.T) {
			rec := c["recorded"].(map[string]any)
			node := uint64(rec["node"].(float64))
			var got RawHardware
			var volume any
			switch str(c, "os") {
			case "macos":
				ioreg, ran := rec["ioreg"].(string)
				got = macHardware(ioreg, ran, str(rec, "machine"), str(rec, "processor"), node)
			case "windows":
				var cpu [3]string
				for i, v := range rec["cpu"].([]any) {
					cpu[i], _ = v.(string)
				}
				guid, _ := rec["machine_guid"].(string)
				got = windowsHardware(guid, cpu, uint32(rec["volume_serial"].(float64)), str(rec, "machine"), str(rec, "processor"), node)
				volume = windowsVolume(str(c, "cwd"), str(c, "data_dir"))
			default:
				t.Fatalf("the %s readers are not implemented by the Go client", str(c, "os"))
			}
			jsonEqual(t, map[string]any{
				"machine": orNil(got.Machine), "disk": orNil(got.Disk), "cpu": orNil(got.CPU), "mac": orNil(got.MAC), "volume": volume,
			}, c["expected"])
		})
	}
}

func runInstallerTickets(t *testing.T, raw json.RawMessage) {
	for _, c := range cases(t, raw) {
		t.Run(str(c, "name"), func(t *testing.T) {
			file, err := base64.StdEncoding.DecodeString(str(c, "file_base64"))
			if err != nil {
				t.Fatal(err)
			}
			expected := c["expected"].(map[string]any)
			problem := TicketProblem(file)
			mustEqual(t, map[string]any{"send": problem == "", "problem": orNil(problem)}, expected)
			// What the client does with the same bytes in a file: sends them, or nothing.
			path := filepath.Join(t.TempDir(), TicketFile)
			if err := os.WriteFile(path, file, 0o600); err != nil {
				t.Fatal(err)
			}
			mustEqual(t, readTicket(path) != "", expected["send"])
		})
	}
}
