package licentia

// Local state in <dataDir>/state.json, written atomically and sealed with a
// MAC, in the Python SDK's format (so either SDK reads the other's file).
//
// The state (signed document, rotating token, last local time seen, the
// clock's offset from the server's, event bookkeeping) is sealed with
// HMAC-SHA256 under a key derived from the device secret. An edited or
// damaged file, or one whose MAC does not match, is no state: offline it
// grants nothing (corrupt_state), online the next check is a first contact.
// What the MAC does not stop: the secret sits in this file, so someone with
// full control of the machine can re-seal an edited state; what still holds
// then is what the server signed, re-verified with the pinned key and this
// machine's hardware on every use.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
)

const (
	stateFileName  = "state.json"
	stateFormat    = 2
	maxStateBytes  = 1 << 20
	stateMACLabel  = "licentia-client state mac v1"
	stateFieldsMax = 64
)

func stateMAC(device, secret, body string) string {
	k := hmac.New(sha256.New, []byte(secret))
	k.Write([]byte(stateMACLabel))
	mac := hmac.New(sha256.New, k.Sum(nil))
	mac.Write([]byte(device + "\n" + body))
	return hex.EncodeToString(mac.Sum(nil))
}

// state is what the SDK remembers between runs; signed is unverified until used.
type state struct {
	signed          map[string]any
	credential      *[2]string
	token           string
	installReported bool
	lastUsageReport string
	lastSeen        string
	clockOffset     int64
	fileClockSkew   int64
	escrowed        bool
	factsOptOut     bool
	corrupt         bool
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *state) encode() ([]byte, error) {
	if s.credential == nil {
		// Nothing to key a MAC with: keep only what restricts and never grants.
		return canonicalJSON(map[string]any{"format": stateFormat, "facts_opt_out": s.factsOptOut})
	}
	var signed any
	if s.signed != nil {
		signed = s.signed
	}
	body, err := canonicalJSON(map[string]any{
		"signed":            signed,
		"token":             nullable(s.token),
		"install_reported":  s.installReported,
		"last_usage_report": nullable(s.lastUsageReport),
		"last_seen":         nullable(s.lastSeen),
		"clock_offset":      s.clockOffset,
		"file_clock_skew":   s.fileClockSkew,
		"escrowed":          s.escrowed,
		"facts_opt_out":     s.factsOptOut,
	})
	if err != nil {
		return nil, err
	}
	device, secret := s.credential[0], s.credential[1]
	return canonicalJSON(map[string]any{
		"format": stateFormat, "device": device, "secret": secret,
		"state": string(body), "mac": stateMAC(device, secret, string(body)),
	})
}

func intField(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := canonicalInteger(string(n))
	if err != nil {
		return 0
	}
	var out int64
	_ = json.Unmarshal([]byte(i), &out)
	return out
}

// decodeState checks the seal, then keeps each field only if it has the expected shape.
func decodeState(raw []byte) state {
	value, err := parseJSON(raw)
	if err != nil {
		return state{corrupt: true}
	}
	outer, _ := value.(map[string]any)
	optOut := optedOut(outer)
	if outer == nil {
		return state{corrupt: true}
	}
	if f, _ := outer["format"].(json.Number); f == "1" {
		return stateFromUnsealed(outer)
	}
	if f, _ := outer["format"].(json.Number); f != "2" {
		return state{corrupt: true, factsOptOut: optOut}
	}
	device, _ := outer["device"].(string)
	secret, _ := outer["secret"].(string)
	body, _ := outer["state"].(string)
	mac, _ := outer["mac"].(string)
	if outer["device"] == nil && outer["secret"] == nil && outer["state"] == nil && outer["mac"] == nil {
		return state{factsOptOut: outer["facts_opt_out"] == true} // before the first credential
	}
	if device == "" || secret == "" || body == "" || mac == "" {
		return state{corrupt: true, factsOptOut: optOut}
	}
	if !hmac.Equal([]byte(stateMAC(device, secret, body)), []byte(mac)) {
		return state{corrupt: true, factsOptOut: optOut}
	}
	inner, err := parseJSON([]byte(body))
	fields, _ := inner.(map[string]any)
	if err != nil || fields == nil {
		return state{corrupt: true, factsOptOut: optOut}
	}
	text := func(name string) string { s, _ := fields[name].(string); return s }
	signed, _ := fields["signed"].(map[string]any)
	offset := intField(fields["clock_offset"])
	if !usableOffset(offset) {
		offset = 0
	}
	return state{
		signed:          signed,
		credential:      &[2]string{device, secret},
		token:           text("token"),
		installReported: fields["install_reported"] == true,
		lastUsageReport: text("last_usage_report"),
		lastSeen:        text("last_seen"),
		clockOffset:     offset,
		fileClockSkew:   intField(fields["file_clock_skew"]),
		escrowed:        fields["escrowed"] == true,
		factsOptOut:     fields["facts_opt_out"] == true,
	}
}

// optedOut: the user's opt-out, read even from a damaged file: honouring it can only send less.
func optedOut(outer map[string]any) bool {
	if outer["facts_opt_out"] == true {
		return true
	}
	body, _ := outer["state"].(string)
	return strings.Contains(body, `"facts_opt_out":true`)
}

// stateFromUnsealed reads a state written before seals (format 1), sealed at its next save.
func stateFromUnsealed(old map[string]any) state {
	cred, _ := old["credential"].([]any)
	if len(cred) != 2 {
		return state{factsOptOut: old["facts_opt_out"] == true}
	}
	device, _ := cred[0].(string)
	secret, _ := cred[1].(string)
	if device == "" || secret == "" {
		return state{factsOptOut: old["facts_opt_out"] == true}
	}
	signed, _ := old["signed"].(map[string]any)
	token, _ := old["token"].(string)
	return state{
		signed: signed, credential: &[2]string{device, secret}, token: token,
		installReported: old["install_reported"] == true, factsOptOut: old["facts_opt_out"] == true,
	}
}

type stateFile struct{ path string }

func newStateFile(dataDir string) stateFile {
	return stateFile{path: filepath.Join(dataDir, stateFileName)}
}

func (f stateFile) load() state {
	raw, exists, ok := readSmall(f.path, maxStateBytes)
	if !ok {
		return state{corrupt: exists}
	}
	return decodeState(raw)
}

func (f stateFile) save(s *state) error {
	data, err := s.encode()
	if err != nil {
		return err
	}
	return writeFileAtomic(f.path, data)
}
