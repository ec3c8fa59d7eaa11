package licentia

// Client facts: optional context sent with checks and events as evidence.
// Off unless the application turns them on (Options.Facts, Authors,
// Trackers); the vendor chooses which ones and must disclose them.
// DO_NOT_TRACK=1 or LICENTIA_NO_FACTS=1 in the environment, or the user's
// stored opt-out (OptOutOfFacts), turn them off whatever the application
// says. Collecting them makes no network traffic and starts no subprocess.
// Same names and values as the Python SDK (licentia.client.facts).

import (
	"net"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// FactNames are the facts a client may send (the core's list).
var FactNames = []string{
	"computer_name", "user_name", "domain", "os_name", "os_version", "internal_ip",
	"local_time", "time_zone", "locale", "country", "registered_owner", "registered_organization",
}

const (
	maxFreeFields = 10  // author_1..author_10 and tracker_1..tracker_10
	maxFactLength = 500 // the server refuses longer values
)

var factEscapes = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// escapeFact: tabs and newlines escaped, so one fact stays one field in exports.
func escapeFact(value string) string {
	escaped := []rune(factEscapes.Replace(value))
	if len(escaped) > maxFactLength {
		escaped = escaped[:maxFactLength]
	}
	return string(escaped)
}

func factsDisabledByEnvironment() bool {
	for _, name := range []string{"DO_NOT_TRACK", "LICENTIA_NO_FACTS"} {
		switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
		case "1", "true", "yes":
			return true
		}
	}
	return false
}

func checkFactOptions(names, authors, trackers []string) error {
	for _, name := range names {
		known := false
		for _, n := range FactNames {
			known = known || n == name
		}
		if !known {
			return newError(ErrConfiguration, "unknown fact %q; known: %s", name, strings.Join(FactNames, ", "))
		}
	}
	if len(authors) > maxFreeFields || len(trackers) > maxFreeFields {
		return newError(ErrConfiguration, "at most %d author and %d tracker fields", maxFreeFields, maxFreeFields)
	}
	return nil
}

// osName and osVersion are Python's platform.system() and platform.release().
func osName() string {
	switch runtime.GOOS {
	case "linux":
		return "Linux"
	case "darwin":
		return "Darwin"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	}
	return runtime.GOOS
}

func osVersion() string {
	if runtime.GOOS == "linux" {
		return text("/proc/sys/kernel/osrelease")
	}
	return ""
}

// osDescription is what a check sends as "os".
func osDescription() string { return strings.TrimSpace(osName() + " " + osVersion()) }

func readFact(name string) string {
	switch name {
	case "computer_name":
		host, _ := os.Hostname()
		return host
	case "user_name":
		if u, err := user.Current(); err == nil {
			return u.Username
		}
		return os.Getenv("USER")
	case "domain":
		if runtime.GOOS == "windows" {
			if d := os.Getenv("USERDNSDOMAIN"); d != "" {
				return d
			}
			return os.Getenv("USERDOMAIN")
		}
		// The host name's own domain part: asking DNS would be network traffic.
		host, _ := os.Hostname()
		if i := strings.IndexByte(host, '.'); i >= 0 {
			return host[i+1:]
		}
		return ""
	case "os_name":
		return osName()
	case "os_version":
		return osVersion()
	case "internal_ip":
		// A UDP "connection" picks a route and a source address without sending a packet.
		conn, err := net.Dial("udp4", "192.0.2.1:9") // TEST-NET-1: never routed to anyone
		if err != nil {
			return ""
		}
		defer conn.Close()
		if addr, ok := conn.LocalAddr().(*net.UDPAddr); ok {
			return addr.IP.String()
		}
		return ""
	case "local_time":
		return time.Now().Format("2006-01-02 15:04:05 MST")
	case "time_zone":
		return timeZone()
	case "locale":
		return localeName()
	case "country":
		lang := strings.SplitN(localeName(), ".", 2)[0]
		if i := strings.IndexByte(lang, '_'); i >= 0 {
			return strings.ToUpper(lang[i+1:])
		}
		return ""
	case "registered_owner":
		owner, _ := registeredOwner()
		return owner
	case "registered_organization":
		_, org := registeredOwner()
		return org
	}
	return ""
}

func timeZone() string {
	if name := strings.TrimPrefix(os.Getenv("TZ"), ":"); strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
		return name
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if i := strings.Index(target, "zoneinfo/"); i >= 0 {
			return target[i+len("zoneinfo/"):]
		}
	}
	if name := text("/etc/timezone"); name != "" {
		return name
	}
	zone, _ := time.Now().Zone()
	return zone
}

func localeName() string {
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(name); v != "" && v != "C" && v != "POSIX" {
			return strings.SplitN(v, ".", 2)[0]
		}
	}
	return ""
}

// collectFacts reads the named facts plus the author_N and tracker_N fields.
func collectFacts(names, authors, trackers []string) map[string]any {
	facts := map[string]any{}
	for _, name := range names {
		if value := readFact(name); value != "" {
			facts[name] = escapeFact(value)
		}
	}
	for label, values := range map[string][]string{"author": authors, "tracker": trackers} {
		for i, value := range values {
			if value != "" {
				facts[label+"_"+strconv.Itoa(i+1)] = escapeFact(value)
			}
		}
	}
	return facts
}

// Facts are the client facts this application sends (empty unless enabled and not opted out).
func (c *Client) Facts() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.facts()
}

func (c *Client) facts() map[string]any {
	if c.factsCache == nil {
		enabled := len(c.factNames) > 0 || len(c.authors) > 0 || len(c.trackers) > 0
		if !enabled || factsDisabledByEnvironment() || c.state.load().factsOptOut {
			c.factsCache = map[string]any{}
		} else {
			c.factsCache = collectFacts(c.factNames, c.authors, c.trackers)
		}
	}
	out := make(map[string]any, len(c.factsCache))
	for k, v := range c.factsCache {
		out[k] = v
	}
	return out
}

// OptOutOfFacts keeps the user's choice in the state file: no facts are sent while it is set.
func (c *Client) OptOutOfFacts(optOut bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state.load()
	s.factsOptOut = optOut
	c.factsCache = nil
	return c.save(&s)
}
