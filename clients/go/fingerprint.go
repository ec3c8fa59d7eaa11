package licentia

// This installation's fingerprint: hashed hardware components plus the hashed
// data path. Raw identifiers are hashed with the product before they are sent,
// so they never leave the machine and two vendors cannot correlate users.
// Same rules as licentia.core.fingerprint.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sort"
)

// components: the hardware components, in the order they are worth as evidence.
var components = []string{"machine", "disk", "cpu", "mac"}

// The CPU identity is shared by every machine of a model: never identity alone.
var weakComponents = map[string]bool{"cpu": true}

const hardwareComponents = 3

// componentHash is hex(HMAC-SHA256("licentia:<product>", "<name>:<raw>")).
func componentHash(product, name, raw string) string {
	mac := hmac.New(sha256.New, []byte("licentia:"+product))
	mac.Write([]byte(name + ":" + raw))
	return hex.EncodeToString(mac.Sum(nil))
}

func dataPathHash(product, path string) string {
	return componentHash(product, "data_path", path)
}

func requiredMatches(presented map[string]string, minMatch int) int {
	tolerated := hardwareComponents - minMatch
	if tolerated < 0 {
		tolerated = 0
	}
	if n := len(presented) - tolerated; n > 1 {
		return n
	}
	return 1
}

// fingerprintMatches: presented is the same device as stored under the policy's K of N.
func fingerprintMatches(stored map[string]any, presented map[string]string, minMatch int) bool {
	names := make([]string, 0, len(presented))
	for name := range presented {
		names = append(names, name)
	}
	sort.Strings(names)
	equal, strong := 0, false
	for _, name := range names {
		value := presented[name]
		known, _ := stored[name].(string)
		if value == "" || known == "" || !hmac.Equal([]byte(known), []byte(value)) {
			continue
		}
		equal++
		if !weakComponents[name] {
			strong = true
		}
	}
	return strong && equal >= requiredMatches(presented, minMatch)
}

// Fingerprint is what identifies this installation: hashed components and data path.
type Fingerprint struct {
	Components     map[string]string // hashed, by name
	DataPath       string            // hashed
	Virtual        bool
	VirtualSignals []string
}

func (f Fingerprint) request() map[string]any {
	c := make(map[string]any, len(f.Components))
	for k, v := range f.Components {
		c[k] = v
	}
	return map[string]any{"components": c, "data_path": f.DataPath, "virtual": f.Virtual}
}

// fingerprintOf hashes raw hardware for product; dataDir is already normalised.
func fingerprintOf(product, dataDir string, raw RawHardware) Fingerprint {
	c := map[string]string{}
	values := map[string]string{"machine": raw.Machine, "disk": raw.Disk, "cpu": raw.CPU, "mac": raw.MAC}
	for _, name := range components {
		if v := values[name]; v != "" {
			c[name] = componentHash(product, name, v)
		}
	}
	return Fingerprint{
		Components:     c,
		DataPath:       dataPathHash(product, dataDir),
		Virtual:        len(raw.VirtualSignals) > 0,
		VirtualSignals: raw.VirtualSignals,
	}
}

// RawHardware holds the raw identifiers the readers found ("" when not readable).
// Raw values never leave the SDK unhashed.
type RawHardware struct {
	Machine, Disk, CPU, MAC string
	VirtualSignals          []string
}
