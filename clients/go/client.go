package licentia

import (
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds every call that may go online: a dead or slow server
// never holds up an application's start for longer.
const DefaultTimeout = 3 * time.Second

// Options configure a Client; ServerURL, Product, PublicKey and DataDir are required.
type Options struct {
	ServerURL string // e.g. "https://licensing.example.com"
	Product   string // the product's slug, e.g. "my-app"
	// PublicKey is the product's public key ("ed25519:<kid>:<key>"); during a
	// key rotation, pin the old and the new one in PublicKeys instead.
	PublicKey  string
	PublicKeys []string
	// DataDir is where state and queued events live (one folder per installation).
	DataDir           string
	Timeout           time.Duration  // DefaultTimeout when zero
	Clock             Clock          // the system clock when nil
	AppVersion        string         // sent with checks and events
	Channel           string         // "stable" when empty
	RollbackTolerance time.Duration  // DefaultRollbackTolerance when zero
	Hardware          HardwareReader // the real machine when nil (tests pass fakes)
	HTTPClient        *http.Client   // a client without redirects when nil
	// Facts names the client facts to send as evidence (FactNames: all of them; disclose them to
	// your users); Authors and Trackers are free fields (author_1.., tracker_1..), at most 10 each.
	Facts    []string
	Authors  []string
	Trackers []string
	// InstallerTicket is the path of the licentia-ticket.json the installer put beside the
	// program (TicketFile), sent with the first check only; "" or a missing file: no ticket.
	InstallerTicket string
}

// Client is licensing for one product inside one application: create one
// with New and ask Check. Nothing signed by any key but the pinned ones (or
// keys they endorsed) is ever trusted. A Client is safe for concurrent use:
// calls that touch the state run one at a time.
type Client struct {
	product           string
	dataDir           string
	dataPath          string // the data directory's hash, taken once
	keys              pinnedKeys
	clock             Clock
	appVersion        string
	channel           string
	rollbackTolerance time.Duration
	hardware          HardwareReader
	components        HardwareReader // hardware without the VM and container signals (offline checks)
	transport         *transport
	state             stateFile
	queue             eventQueue
	escrow            escrow
	factNames         []string
	authors           []string
	trackers          []string
	installerTicket   string // a path, read at first contact only

	mu         sync.Mutex     // held for every call that reads and writes the state
	factsCache map[string]any // collected once, under mu // held for every call that reads and writes the state
}

var productSlug = regexp.MustCompile(`^[a-z0-9-]*[a-z0-9][a-z0-9-]*$`)

// New checks the options (a malformed public key, product, URL or data
// directory is ErrConfiguration) and returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	if !productSlug.MatchString(opts.Product) {
		return nil, newError(ErrConfiguration, "not a product slug: %q", opts.Product)
	}
	texts := opts.PublicKeys
	if opts.PublicKey != "" {
		texts = append([]string{opts.PublicKey}, texts...)
	}
	keys, err := pinKeys(texts)
	if err != nil {
		return nil, err
	}
	if opts.DataDir == "" {
		return nil, newError(ErrConfiguration, "a data directory is required")
	}
	dir, err := absolutePath(opts.DataDir)
	if err != nil {
		return nil, wrapError(ErrConfiguration, err, "cannot resolve the data directory %q", opts.DataDir)
	}
	if err := checkFactOptions(opts.Facts, opts.Authors, opts.Trackers); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	t, err := newTransport(opts.ServerURL, timeout, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	c := &Client{
		product: opts.Product, dataDir: dir, dataPath: dataPathHash(opts.Product, dir), keys: keys,
		clock: opts.Clock, appVersion: opts.AppVersion, channel: opts.Channel,
		rollbackTolerance: opts.RollbackTolerance, hardware: opts.Hardware, transport: t,
		state: newStateFile(dir), queue: newEventQueue(dir),
		factNames: append([]string(nil), opts.Facts...), authors: append([]string(nil), opts.Authors...),
		trackers: append([]string(nil), opts.Trackers...), installerTicket: opts.InstallerTicket,
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	if c.channel == "" {
		c.channel = "stable"
	}
	if c.rollbackTolerance == 0 {
		c.rollbackTolerance = DefaultRollbackTolerance
	}
	c.components = c.hardware
	if c.hardware == nil {
		c.hardware, c.components = readSystemHardware, readSystemComponents
	}
	c.escrow = newEscrow(t.serverURL, c.product, c.dataPath)
	return c, nil
}

// absolutePath is the Python SDK's data path text for dir on this system.
func absolutePath(dir string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return absoluteDataPath(runtime.GOOS == "windows", wd, dir), nil
}

// absoluteDataPath is str(pathlib.Path(dataDir).absolute()) on POSIX or Windows, the text
// the data path hash was always taken of: joined to cwd when relative, the system's
// separators, repeated ones, "." parts and a trailing one dropped; "..", the case and a
// leading "//" (POSIX) or \\server\share (Windows) kept. Nothing resolves links, "~" or "..".
func absoluteDataPath(windows bool, cwd, dataDir string) string {
	if windows {
		return absoluteWindowsPath(cwd, dataDir)
	}
	path := dataDir
	if !strings.HasPrefix(path, "/") {
		path = cwd + "/" + path
	}
	prefix := "/"
	if strings.HasPrefix(path, "//") && !strings.HasPrefix(path, "///") {
		prefix = "//" // POSIX leaves two leading slashes to the implementation; pathlib keeps them
	}
	return prefix + strings.Join(pathParts(path, "/"), "/")
}

func pathParts(path, sep string) []string {
	var parts []string
	for _, p := range strings.Split(path, sep) {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	return parts
}

// windowsAnchor splits a Windows path (backslashes only) into its drive ("C:" or
// \\server\share), whether it is rooted, and the rest.
func windowsAnchor(path string) (drive string, rooted bool, rest string) {
	if strings.HasPrefix(path, `\\`) {
		parts := strings.SplitN(path[2:], `\`, 3)
		if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
			drive = `\\` + parts[0] + `\` + parts[1]
			if len(parts) == 3 {
				return drive, true, parts[2]
			}
			return drive, true, ""
		}
	}
	if len(path) >= 2 && path[1] == ':' {
		drive, path = path[:2], path[2:]
	}
	if strings.HasPrefix(path, `\`) {
		return drive, true, path
	}
	return drive, false, path
}

func absoluteWindowsPath(cwd, dataDir string) string {
	path := strings.ReplaceAll(dataDir, "/", `\`)
	drive, rooted, rest := windowsAnchor(path)
	cwdDrive, _, cwdRest := windowsAnchor(strings.ReplaceAll(cwd, "/", `\`))
	switch {
	case drive == "" && !rooted: // relative: joined to the working directory
		drive, rest = cwdDrive, cwdRest+`\`+rest
	case drive == "": // rooted without a drive: the working directory's drive
		drive = cwdDrive
	case !rooted && strings.EqualFold(drive, cwdDrive): // "C:data": relative to that drive's directory
		rest = cwdRest + `\` + rest
	}
	return drive + `\` + strings.Join(pathParts(rest, `\`), `\`)
}

// DataDir is the data directory as the SDK uses it (absolute).
func (c *Client) DataDir() string { return c.dataDir }

// Fingerprint reads this machine's fingerprint now (what the next check sends and matches).
func (c *Client) Fingerprint() Fingerprint {
	return c.fingerprintFrom(c.hardware)
}

// componentsFingerprint reads the components now, without the VM and container
// signals, as the Python SDK's offline check does: a match compares components
// only, and the signals go to the server, which an offline check never asks.
func (c *Client) componentsFingerprint() Fingerprint {
	return c.fingerprintFrom(c.components)
}

func (c *Client) fingerprintFrom(read HardwareReader) Fingerprint {
	fp := fingerprintOf(c.product, c.dataDir, read(c.dataDir))
	fp.DataPath = c.dataPath
	return fp
}

// guard turns whatever escaped into an SDK error: the application sees only LicentiaErrors.
func guard(err error) error {
	if err == nil || errors.Is(err, ErrLicentia) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return wrapError(ErrOffline, err, "licensing gave up")
	}
	return wrapError(ErrOffline, err, "licensing failed")
}
