package licentia

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
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
	transport         *transport
	state             stateFile
	queue             eventQueue
	escrow            escrow

	mu sync.Mutex // held for every call that reads and writes the state
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
	if c.hardware == nil {
		c.hardware = readSystemHardware
	}
	c.escrow = newEscrow(t.serverURL, c.product, c.dataPath)
	return c, nil
}

// absolutePath is the Python SDK's data path text, str(Path(path).absolute()):
// made absolute against the working directory, "." parts and repeated or
// trailing separators dropped, ".." kept (pathlib does not resolve it), so
// both SDKs hash the same text for the same folder.
func absolutePath(path string) (string, error) {
	if runtime.GOOS == "windows" {
		return filepath.Abs(path)
	}
	if !strings.HasPrefix(path, "/") {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		path = wd + "/" + path
	}
	prefix := "/"
	if strings.HasPrefix(path, "//") && !strings.HasPrefix(path, "///") {
		prefix = "//" // POSIX leaves two leading slashes to the implementation; pathlib keeps them
	}
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	return prefix + strings.Join(parts, "/"), nil
}

// DataDir is the data directory as the SDK uses it (absolute).
func (c *Client) DataDir() string { return c.dataDir }

// Fingerprint reads this machine's fingerprint now (what the next check sends and matches).
func (c *Client) Fingerprint() Fingerprint {
	fp := fingerprintOf(c.product, c.dataDir, c.hardware(c.dataDir))
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
