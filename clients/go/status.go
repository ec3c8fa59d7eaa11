package licentia

// What Check answers, and how a signed document becomes that answer. The same
// steps run online (on the server's fresh answer) and offline (on the stored
// copy): verify the signature with the pinned keys, check the document
// describes this installation, then apply the status rules. The SDK never
// grants more than a document it verified says.

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultRollbackTolerance: how far the local clock may run behind the latest
// time the SDK saw before it counts as wound back.
const DefaultRollbackTolerance = 2 * time.Hour

// Status is this installation's licensing status (a value: copy it freely).
//
// State is the device status (trial, trial_expired, registered, suspended,
// blocked) or one the SDK derives offline: grace, lease_expired, expired
// (license expiry), clock_rollback and unknown (no valid document and no server).
type Status struct {
	Allowed bool
	State   string
	// DaysLeft is the whole days left (-1: no end).
	DaysLeft       int
	Features       []string
	Reason         string // "" when none
	Online         bool
	Device         string // this installation's id, "" when unknown
	CloneSuspected bool
	// Entitlements are the typed values in force (bool, int64 or string).
	Entitlements map[string]any
	// Maintenance says until when the license gets updates, or nil.
	Maintenance *Maintenance
	// Customer is the licensee of an activated installation, or nil.
	Customer *Customer
	// User is the person signed in on this installation (their email), on a
	// license whose seats are named users (SignIn), else "".
	User string
	// LatestRelease is the newest release the server signed into the document, or nil.
	LatestRelease *Release
	// NotSaved: the answer verified but could not be written to the data directory.
	NotSaved bool
}

// HasFeature tells whether a feature is in force.
func (s Status) HasFeature(name string) bool {
	for _, f := range s.Features {
		if f == name {
			return true
		}
	}
	return false
}

// Entitlement returns entitlement name while it is in force, else def.
func (s Status) Entitlement(name string, def any) any {
	if v, ok := s.Entitlements[name]; ok {
		return v
	}
	return def
}

// EntitlementBool returns a boolean entitlement, or def when absent or of another type.
func (s Status) EntitlementBool(name string, def bool) bool {
	if v, ok := s.Entitlements[name].(bool); ok {
		return v
	}
	return def
}

// EntitlementInt returns an integer entitlement, or def when absent or of another type.
func (s Status) EntitlementInt(name string, def int64) int64 {
	if v, ok := s.Entitlements[name].(int64); ok {
		return v
	}
	return def
}

// EntitlementString returns a string entitlement, or def when absent or of another type.
func (s Status) EntitlementString(name string, def string) string {
	if v, ok := s.Entitlements[name].(string); ok {
		return v
	}
	return def
}

func denied(reason string, online bool, state string) Status {
	return Status{State: state, Reason: reason, Online: online}
}

// verifyForInstallation verifies signature and product, then that the document
// names this installation: a genuine document of another device (copied in,
// or replayed between the app and the server) must not unlock this one.
func verifyForInstallation(unverifiedSigned any, keys pinnedKeys, product string, fp *Fingerprint, at time.Time) (map[string]any, error) {
	payload, err := verifyDocument(unverifiedSigned, keys, product, at)
	if err != nil {
		return nil, err
	}
	if fp != nil {
		comps, ok := payload["components"].(map[string]any)
		if path, _ := payload["data_path"].(string); !ok || path != fp.DataPath {
			return nil, invalidDocument("document is for another installation")
		}
		minMatch := 2
		switch raw := payload["min_match"].(type) {
		case json.Number:
			n, err := raw.Int64()
			if err != nil {
				return nil, invalidDocument("malformed document")
			}
			// Beyond ±1000 the K-of-N rule answers as at ±1000 (at most four components).
			if n > 1000 {
				n = 1000
			} else if n < -1000 {
				n = -1000
			}
			if n != 0 {
				minMatch = int(n)
			}
		case nil:
		case bool:
			if raw {
				minMatch = 1
			}
		default:
			return nil, invalidDocument("malformed document")
		}
		if !fingerprintMatches(comps, fp.Components, minMatch) {
			return nil, invalidDocument("document is for another device")
		}
	}
	return payload, nil
}

type verdict struct {
	allowed  bool
	state    string
	reason   string
	daysLeft int
	features []string
}

var errRules = errors.New("payload lacks what the rules need")

// daysUntil: whole days left, counting a started day (0 once end has passed).
func daysUntil(end, now time.Time) int {
	d := end.Sub(now)
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(float64(d) / float64(24*time.Hour)))
}

var pyIntPattern = regexp.MustCompile(`^\s*[-+]?\d+\s*$`)

func pyInt(v any) (int64, error) {
	if !truthy(v) {
		return 0, nil
	}
	switch x := v.(type) {
	case json.Number:
		return x.Int64()
	case bool:
		return 1, nil
	case string:
		if pyIntPattern.MatchString(x) {
			return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		}
	}
	return 0, errRules
}

func timeField(v any) (time.Time, error) {
	if _, ok := v.(string); !ok {
		if _, ok := v.(json.Number); !ok {
			return time.Time{}, errRules
		}
	}
	return parseISO(pyStr(v))
}

// judge applies the status rules to a verified payload at now: a trial ends at
// trial_end, a license at its expiry, and the document is trusted until
// lease_until and then for grace_days more.
func judge(payload map[string]any, now time.Time) (verdict, error) {
	status := pyStr(payload["status"])
	var features []string
	if list, ok := payload["features"].([]any); ok {
		for _, f := range list {
			features = append(features, pyStr(f))
		}
	}
	leaseUntil, err := timeField(payload["lease_until"])
	if err != nil {
		return verdict{}, err
	}
	graceDays, err := pyInt(payload["grace_days"])
	if err != nil {
		return verdict{}, err
	}
	var base verdict
	switch status {
	case StateTrial:
		days := -1
		if end := payload["trial_end"]; truthy(end) {
			trialEnd, err := timeField(end)
			if err != nil {
				return verdict{}, err
			}
			if !now.Before(trialEnd) {
				return verdict{state: StateTrialExpired, reason: "trial_ended"}, nil
			}
			days = daysUntil(trialEnd, now)
		}
		base = verdict{allowed: true, state: status, daysLeft: days, features: features}
	case StateRegistered:
		days := -1
		if lic := payload["license"]; truthy(lic) {
			m, ok := lic.(map[string]any)
			if !ok {
				return verdict{}, errRules
			}
			if exp := m["expires_at"]; truthy(exp) {
				expiry, err := timeField(exp)
				if err != nil {
					return verdict{}, err
				}
				if !now.Before(expiry) {
					return verdict{state: StateExpired, reason: "license_expired"}, nil
				}
				days = daysUntil(expiry, now)
			}
		}
		base = verdict{allowed: true, state: status, daysLeft: days, features: features}
	default:
		reason := status
		if r := payload["reason"]; truthy(r) {
			reason = pyStr(r)
		}
		return verdict{state: status, reason: reason}, nil
	}
	if !now.After(leaseUntil) {
		return base, nil
	}
	if graceDays > 36600 || graceDays < -36600 {
		return verdict{}, errRules
	}
	graceEnd := leaseUntil.Add(time.Duration(graceDays) * 24 * time.Hour)
	if !now.After(graceEnd) {
		return verdict{allowed: true, state: StateGrace, reason: "lease_expired", daysLeft: daysUntil(graceEnd, now), features: features}, nil
	}
	return verdict{state: StateLeaseExpired, reason: "lease_expired"}, nil
}

func statusOf(payload map[string]any, now time.Time, online bool) Status {
	v, err := judge(payload, now)
	if err != nil {
		return denied("invalid_document", online, StateUnknown)
	}
	s := Status{
		Allowed: v.allowed, State: v.state, DaysLeft: v.daysLeft, Features: v.features,
		Reason: v.reason, Online: online,
	}
	if s.Reason == "" && truthy(payload["reason"]) {
		// An allowed verdict has no reason of its own; keep the server's (e.g. "deactivated").
		s.Reason = pyStr(payload["reason"])
	}
	if d, ok := payload["device"].(string); ok {
		s.Device = d
	}
	s.CloneSuspected = payload["clone_suspected"] == true
	s.Entitlements = entitlementsOf(payload, v, now)
	s.Maintenance = maintenanceFrom(maintenanceFields(payload["maintenance"]))
	s.Customer = customerFrom(customerFields(payload))
	s.User = userOf(payload)
	s.LatestRelease = releaseFrom(releaseFields(payload["latest_release"]))
	return s
}

// entitlementsOf: the typed entitlements in force at now; from features for documents of older servers.
func entitlementsOf(payload map[string]any, v verdict, now time.Time) map[string]any {
	found := map[string]any{}
	if !v.allowed {
		return found
	}
	unverified, ok := payload["entitlements"].(map[string]any)
	if !ok {
		for _, f := range v.features {
			found[f] = true
		}
		return found
	}
	return entitlementsInForce(unverified, now)
}

func entitlementsInForce(unverified map[string]any, now time.Time) map[string]any {
	found := map[string]any{}
	for name, raw := range unverified {
		entry, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		var value any
		switch x := entry["value"].(type) {
		case bool, string:
			value = x
		case json.Number:
			n, err := x.Int64()
			if err != nil {
				continue
			}
			value = n
		default:
			continue
		}
		if expires, present := entry["expires_at"]; present && expires != nil {
			t, err := parseISO(pyStr(expires))
			if err != nil || !t.After(now) {
				continue // an unreadable expiry grants nothing
			}
		}
		found[name] = value
	}
	return found
}

// offlineInputs: what an offline decision needs.
type offlineInputs struct {
	signed            any // parsed, unverified; nil when none
	keys              pinnedKeys
	product           string
	fingerprint       Fingerprint
	now               time.Time // local clock
	lastSeen          time.Time // the latest local time seen; zero when none
	offsetSeconds     int64
	rollbackTolerance time.Duration
}

// decideOffline: clock rollback (on the local clock alone), then verification
// for this installation and the status rules at the server's time by the kept offset.
func decideOffline(in offlineInputs) Status {
	if in.signed == nil {
		return denied("no_document", false, StateUnknown)
	}
	if !in.lastSeen.IsZero() && in.now.Add(in.rollbackTolerance).Before(in.lastSeen) {
		// The clock was wound back, to stretch a trial or a lease.
		return denied("clock_rollback", false, StateClockRollback)
	}
	at := serverTime(in.now, in.offsetSeconds)
	payload, err := verifyForInstallation(in.signed, in.keys, in.product, &in.fingerprint, at)
	if err != nil {
		return denied("invalid_document", false, StateUnknown)
	}
	return statusOf(payload, at, false)
}
