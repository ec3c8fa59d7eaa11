package licentia

// What a status names beside the verdict: the licensee, the maintenance
// period and the newest release. Each is read field by field from the
// verified document (or, for LatestRelease, from the server's unsigned
// answer): only known fields of the expected types reach the application,
// and a download link only over https.

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Customer names the licensee of an activated installation, as the vendor gave it.
type Customer struct {
	ID   int64
	Name string
}

// Maintenance says until when the license gets updates, and the newest release it entitles to.
type Maintenance struct {
	Until        string // ISO 8601, "" when none
	NewerRelease *NewerRelease
}

// NewerRelease is a release newer than the application's, named by the maintenance period.
type NewerRelease struct {
	Version string
	Channel string
}

// Release is the newest release on the app's channel. Fields the server did not send are "".
type Release struct {
	Version     string
	Channel     string
	ReleasedAt  string
	DownloadURL string // an https:// link, else ""
	Notes       string
	Newer       *bool // whether it beats Options.AppVersion; nil when the server did not say
}

// integer reads a JSON integer (never a boolean, text or float).
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		text, err := canonicalInteger(string(x))
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(text, 10, 64)
		return n, err == nil
	case int64:
		return x, true
	}
	return 0, false
}

// customerFields: {"id", "name"} from license.customer when its id is an integer, else nil.
func customerFields(payload map[string]any) map[string]any {
	lic, _ := payload["license"].(map[string]any)
	found, _ := lic["customer"].(map[string]any)
	id, ok := integer(found["id"])
	if !ok {
		return nil
	}
	name, _ := found["name"].(string)
	return map[string]any{"id": id, "name": name}
}

func customerFrom(fields map[string]any) *Customer {
	if fields == nil {
		return nil
	}
	return &Customer{ID: fields["id"].(int64), Name: fields["name"].(string)}
}

// maintenanceFields: {"until", "newer_release"} of a maintenance object, other fields dropped.
func maintenanceFields(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{"until": nil, "newer_release": nil}
	if until, ok := m["until"].(string); ok {
		out["until"] = until
	}
	if newer, ok := m["newer_release"].(map[string]any); ok {
		if version, _ := newer["version"].(string); version != "" {
			release := map[string]any{"version": version, "channel": nil}
			if channel, ok := newer["channel"].(string); ok {
				release["channel"] = channel
			}
			out["newer_release"] = release
		}
	}
	return out
}

func maintenanceFrom(fields map[string]any) *Maintenance {
	if fields == nil {
		return nil
	}
	m := &Maintenance{}
	m.Until, _ = fields["until"].(string)
	if newer, ok := fields["newer_release"].(map[string]any); ok {
		m.NewerRelease = &NewerRelease{Version: newer["version"].(string)}
		m.NewerRelease.Channel, _ = newer["channel"].(string)
	}
	return m
}

// safeDownloadURL: an https:// link of at most 2000 printable ASCII characters without spaces.
func safeDownloadURL(u string) bool {
	if !strings.HasPrefix(u, "https://") || len(u) <= len("https://") || len(u) > 2000 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= 0x20 || u[i] > 0x7e {
			return false
		}
	}
	return true
}

// releaseFields keeps a release's known fields, each when present and null or of its
// type; nil unless v is an object whose version is a non-empty string.
func releaseFields(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if version, _ := m["version"].(string); version == "" {
		return nil
	}
	out := map[string]any{}
	for _, name := range []string{"version", "channel", "released_at", "download_url", "notes"} {
		value, present := m[name]
		if !present {
			continue
		}
		switch x := value.(type) {
		case nil:
			out[name] = nil
		case string:
			if name == "download_url" && !safeDownloadURL(x) {
				out[name] = nil
			} else {
				out[name] = x
			}
		}
	}
	if value, present := m["newer"]; present {
		switch x := value.(type) {
		case nil, bool:
			out["newer"] = x
		}
	}
	return out
}

func releaseFrom(fields map[string]any) *Release {
	if fields == nil {
		return nil
	}
	r := &Release{}
	r.Version, _ = fields["version"].(string)
	r.Channel, _ = fields["channel"].(string)
	r.ReleasedAt, _ = fields["released_at"].(string)
	r.DownloadURL, _ = fields["download_url"].(string)
	r.Notes, _ = fields["notes"].(string)
	if newer, ok := fields["newer"].(bool); ok {
		r.Newer = &newer
	}
	return r
}
