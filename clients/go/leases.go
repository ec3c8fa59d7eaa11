package licentia

// Floating licenses: Checkout holds a seat while the application runs.
//
// A Lease keeps its seat with heartbeats from a goroutine (StartHeartbeats), at
// the interval the server signed. The goroutine never panics or returns an
// error into the application: a network failure is retried until the lease's
// end, a lease the server ended is checked out again (if a seat is free), and
// whatever happens is told by State and Valid. Every lease document is
// verified before it is trusted (the pinned key, the product, type
// floating_lease, this machine's hardware read afresh) and bound to its
// request (nonce, device). The last document is kept in <dataDir>/lease.json:
// a borrowed lease (BorrowDays) works offline from it until its end, not after,
// with the local clock checked against the same witnesses as offline checks.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// Lease states.
const (
	LeaseActive   = "active"   // held, heartbeats keep it
	LeaseBorrowed = "borrowed" // held for offline use until ExpiresAt
	LeaseExpired  = "expired"  // no heartbeat reached the server before the lease's end
	LeaseLost     = "lost"     // the server ended it and no seat was free, or the license stopped allowing use
	LeaseReleased = "released"
)

const (
	leaseFileName   = "lease.json"
	leaseType       = "floating_lease"
	maxLeaseBytes   = 1 << 16
	minHeartbeat    = 50 * time.Millisecond
	retryFraction   = 4
	maxBorrowDays   = 365
	leaseIDTemplate = `^ls_[0-9a-f]{24}$`
)

var leaseIDPattern = regexp.MustCompile(leaseIDTemplate)

// errLeaseRefused marks an answer whose lease document was refused (not merely no answer).
var errLeaseRefused = errors.New("lease document refused")

// Refusals after which heartbeats stop: only the vendor or the customer can change them.
var finalRefusals = map[string]bool{
	codeLicenseSuspended: true, codeLicenseRevoked: true, codeLicenseExpired: true, codeNotFloating: true, codeInvalidKey: true,
}

// CheckoutOptions: BorrowDays (1-365) takes the seat for offline use; Heartbeats starts the goroutine.
type CheckoutOptions struct {
	BorrowDays int
	Heartbeats bool
}

// Lease is a floating seat held by this machine. Release it when done (a
// borrowed one stays borrowed until released or ended). Safe for concurrent use.
type Lease struct {
	c   *Client
	key string // in memory only, to check out again when the server ended the lease

	mu           sync.Mutex
	id           string
	expiresAt    time.Time
	deadline     time.Time // on the monotonic clock
	borrowed     bool
	state        string
	err          string
	online       bool
	entitlements map[string]any
	features     []string
	every        time.Duration
	heartbeats   int
	stop         chan struct{}
	done         chan struct{}
}

// ID is the lease's id (ls_...).
func (l *Lease) ID() string { l.mu.Lock(); defer l.mu.Unlock(); return l.id }

// ExpiresAt is when the lease ends without a heartbeat (the server's time).
func (l *Lease) ExpiresAt() time.Time { l.mu.Lock(); defer l.mu.Unlock(); return l.expiresAt }

// Borrowed tells whether the seat is held for offline use.
func (l *Lease) Borrowed() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.borrowed }

// Online is false for a borrowed lease read from the data directory.
func (l *Lease) Online() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.online }

// Heartbeats counts the heartbeats the server answered.
func (l *Lease) Heartbeats() int { l.mu.Lock(); defer l.mu.Unlock(); return l.heartbeats }

// Err is why the lease was lost or the last heartbeat failed ("" when none).
func (l *Lease) Err() string { l.mu.Lock(); defer l.mu.Unlock(); return l.err }

// State is active, borrowed, expired, lost or released.
func (l *Lease) State() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stateLocked()
}

func (l *Lease) stateLocked() string {
	if (l.state == LeaseActive || l.state == LeaseBorrowed) && !time.Now().Before(l.deadline) {
		return LeaseExpired
	}
	return l.state
}

// Valid tells whether the application may run now: a held lease whose end has not come.
func (l *Lease) Valid() bool {
	s := l.State()
	return s == LeaseActive || s == LeaseBorrowed
}

// Features are the lease's features.
func (l *Lease) Features() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.features...)
}

// Entitlement is an entitlement's value while the lease is valid, else def.
func (l *Lease) Entitlement(name string, def any) any {
	if !l.Valid() {
		return def
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.entitlements[name]; ok {
		return v
	}
	return def
}

// Checkout takes a floating seat of the license key. Offline, a borrowed lease
// kept in the data directory and still valid is returned instead of the error.
func (c *Client) Checkout(ctx context.Context, key string, opts CheckoutOptions) (*Lease, error) {
	if opts.BorrowDays < 0 || opts.BorrowDays > maxBorrowDays {
		return nil, newError(ErrConfiguration, "BorrowDays is a whole number of days from 1 to 365")
	}
	normalized, err := NormalizeKey(key)
	if err != nil {
		return nil, err
	}
	extra := map[string]any{"product": c.product, "key": normalized}
	if opts.BorrowDays > 0 {
		extra["borrow_days"] = opts.BorrowDays
	}
	payload, signed, err := c.leaseCall(ctx, "/v1/leases", extra, true)
	if err != nil {
		// No answer (or garbage): a borrowed lease kept here still holds; a refused document does not fall back.
		if errors.Is(err, ErrOffline) && !errors.Is(err, errLeaseRefused) {
			if stored := c.storedLease(); stored != nil && stored.borrowed {
				return stored, nil
			}
		}
		return nil, err
	}
	l := &Lease{c: c, key: normalized, online: true}
	l.accept(payload, signed)
	if opts.Heartbeats {
		l.StartHeartbeats(0)
	}
	return l, nil
}

// leaseCall POSTs a lease call with this installation's credential (first contact if none) and a
// fresh nonce, and returns the verified lease document bound to the request.
func (c *Client) leaseCall(ctx context.Context, path string, extra map[string]any, document bool) (map[string]any, map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	for attempt := 1; ; attempt++ {
		credential, err := c.credential(ctx)
		if err != nil {
			return nil, nil, err
		}
		s := c.state.load()
		a := asked{nonce: newNonce(), device: credential[0]}
		if s.signed != nil {
			a.known = s.signed
		}
		body := map[string]any{"nonce": a.nonce}
		for k, v := range extra {
			body[k] = v
		}
		answer, err := c.transport.do(ctx, request{method: "POST", path: path, body: body, credential: &credential})
		if r, ok := asRefusal(err); ok && r.Code == CodeInvalidCredential && attempt == 1 {
			// The server re-identifies this installation and issues a new credential.
			_, _ = c.deviceCall(ctx, "/v1/check", &s, nil)
			continue
		}
		if err != nil {
			return nil, nil, guard(err)
		}
		if !document {
			return nil, nil, nil // a release: answered, no document
		}
		return c.verifiedLease(answer, a)
	}
}

func (c *Client) verifiedLease(answer any, a asked) (map[string]any, map[string]any, error) {
	payload, signed, why := judgeLeaseAnswer(answer, a, c.keys, c.product, c.Fingerprint())
	if why != "" {
		return nil, nil, &Error{Kind: ErrInvalidAnswer, Message: "the server's lease is refused (" + why + ")", Err: errLeaseRefused}
	}
	return payload, signed, nil
}

// Why a lease document is not used (the conformance vectors' refusals beside the online ones).
const (
	refusalOtherLease  = "other_lease"
	refusalNotBorrowed = "not_borrowed"
	refusalEnded       = "ended"
)

// judgeLeaseAnswer: the verified lease document of a checkout, heartbeat or borrow answer, if it
// names the answer's lease and answers this request for this installation; else the refusal.
func judgeLeaseAnswer(answer any, a asked, keys pinnedKeys, product string, fp Fingerprint) (map[string]any, map[string]any, string) {
	obj, _ := answer.(map[string]any)
	signed, ok := obj["signed"].(map[string]any)
	if !ok {
		return nil, nil, refusalInvalidDocument
	}
	payload, err := verifyLease(signed, keys, product, fp, time.Time{})
	if err != nil {
		return nil, nil, refusalInvalidDocument
	}
	if id, ok := obj["lease"].(string); !ok || id != payload["lease"] {
		return nil, nil, refusalOtherLease
	}
	if why := a.refusal(payload, "", keys, product); why != "" {
		return nil, nil, why
	}
	return payload, signed, ""
}

// judgeStoredLease: the lease kept in lease.json, judged at the server's time (now + offset),
// used offline only when borrowed and until its end (exclusive).
func judgeStoredLease(signed any, keys pinnedKeys, product string, fp Fingerprint, at time.Time) (map[string]any, string) {
	obj, ok := signed.(map[string]any)
	if !ok {
		return nil, refusalInvalidDocument
	}
	payload, err := verifyLease(obj, keys, product, fp, at)
	if err != nil {
		return nil, refusalInvalidDocument
	}
	if payload["borrowed"] != true {
		return nil, refusalNotBorrowed
	}
	if !payload["_expires"].(time.Time).After(at) {
		return nil, refusalEnded
	}
	return payload, ""
}

// leaseTerms is what a verified lease document grants, judged at the time at.
type leaseTerms struct {
	id           string
	borrowed     bool
	expiresAt    time.Time
	left         time.Duration
	every        time.Duration
	entitlements map[string]any
	features     []string
}

func termsOf(payload map[string]any, at time.Time) leaseTerms {
	expires := payload["_expires"].(time.Time)
	t := leaseTerms{id: payload["lease"].(string), borrowed: payload["borrowed"] == true, expiresAt: expires}
	if t.left = expires.Sub(at); t.left < 0 {
		t.left = 0
	}
	ent, _ := payload["entitlements"].(map[string]any)
	t.entitlements = entitlementsInForce(ent, at)
	t.features = []string{}
	if list, ok := payload["features"].([]any); ok {
		for _, f := range list {
			if s, ok := f.(string); ok {
				t.features = append(t.features, s)
			}
		}
	}
	// A heartbeat at the signed interval when it is above 0 and at most half the lease, else a quarter of it.
	half := 60 * time.Second
	if secs, ok := integer(payload["lease_seconds"]); ok && secs > 0 && secs < 1<<31 {
		half = time.Duration(secs) * time.Second / 2
	}
	t.every = half / 2
	if every, ok := integer(payload["heartbeat_seconds"]); ok && every > 0 && every < 1<<31 && time.Duration(every)*time.Second <= half {
		t.every = time.Duration(every) * time.Second
	}
	return t
}

// verifyLease verifies a signed lease document and that it names this machine's hardware.
func verifyLease(signed map[string]any, keys pinnedKeys, product string, fp Fingerprint, at time.Time) (map[string]any, error) {
	payload, err := verifyDocument(signed, keys, product, at)
	if err != nil {
		return nil, err
	}
	if _, ok := payload["lease"].(string); !ok || payload["type"] != leaseType {
		return nil, invalidDocument("not a lease document")
	}
	expires, err1 := timeField(payload["expires_at"])
	issued, err2 := timeField(payload["issued_at"])
	minMatch := 2
	if n, ok := integer(payload["min_match"]); ok && n != 0 {
		if n > 1000 {
			n = 1000
		} else if n < -1000 {
			n = -1000
		}
		minMatch = int(n)
	}
	if err1 != nil || err2 != nil {
		return nil, invalidDocument("malformed lease document")
	}
	comps, ok := payload["components"].(map[string]any)
	if !ok || !fingerprintMatches(comps, fp.Components, minMatch) {
		return nil, invalidDocument("the lease is for another machine")
	}
	out := make(map[string]any, len(payload)+2)
	for k, v := range payload {
		out[k] = v
	}
	out["_expires"], out["_issued"] = expires, issued
	return out, nil
}

// accept takes a verified document: from now on the lease lasts what the server signed.
func (l *Lease) accept(payload, signed map[string]any) {
	// Online, the server's time says how long is left (the document's issue time); offline (a
	// stored borrow), the checked local clock set right by the offset the last bound answer measured.
	at := payload["_issued"].(time.Time)
	if !l.online {
		at = serverTime(l.c.clock.Now(), l.c.state.load().clockOffset)
	}
	t := termsOf(payload, at)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline = time.Now().Add(t.left)
	l.id, l.expiresAt, l.borrowed = t.id, t.expiresAt, t.borrowed
	l.state, l.err = LeaseActive, ""
	if l.borrowed {
		l.state = LeaseBorrowed
	}
	l.entitlements, l.features, l.every = t.entitlements, t.features, t.every
	if signed != nil {
		if data, err := canonicalJSON(signed); err == nil {
			_ = writeFileAtomic(filepath.Join(l.c.dataDir, leaseFileName), data)
		}
	}
}

// Heartbeat sends one heartbeat now (the goroutine does this by itself).
func (l *Lease) Heartbeat(ctx context.Context) error {
	l.mu.Lock()
	id, released := l.id, l.state == LeaseReleased
	l.mu.Unlock()
	if released {
		return &ServerRefusedError{Code: CodeLeaseExpired, Message: "this lease was released", Status: 410, RetryAfter: -1}
	}
	// The network call holds no lock: Valid must answer at once while a heartbeat waits.
	payload, signed, err := l.c.leaseCall(ctx, "/v1/leases/"+id+"/heartbeat", nil, true)
	if err != nil {
		return err
	}
	l.mu.Lock()
	if l.state == LeaseReleased {
		l.mu.Unlock()
		return nil
	}
	l.online = true
	l.heartbeats++
	l.mu.Unlock()
	l.accept(payload, signed)
	return nil
}

// Release returns the seat now (also a borrowed one, early) and stops the
// heartbeats. Offline, the seat frees when the lease ends.
func (l *Lease) Release(ctx context.Context) error {
	l.stopHeartbeats()
	l.mu.Lock()
	id, released := l.id, l.state == LeaseReleased
	l.mu.Unlock()
	if released {
		return nil
	}
	_, _, err := l.c.leaseCall(ctx, "/v1/leases/"+id+"/release", nil, false)
	if r, ok := asRefusal(err); ok && r.Code == CodeUnknownLease {
		err = nil
	}
	l.mu.Lock()
	l.state = LeaseReleased
	l.mu.Unlock()
	l.c.forgetLease(id)
	return err
}

// StartHeartbeats starts the heartbeat goroutine (every: 0 for the interval the server signed).
func (l *Lease) StartHeartbeats(every time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil || l.borrowed {
		return
	}
	if every == 0 {
		every = l.every
	}
	if every < minHeartbeat {
		every = minHeartbeat
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.beat(every, l.stop, l.done)
}

func (l *Lease) stopHeartbeats() {
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.stop = nil
	l.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (l *Lease) beat(interval time.Duration, stop, done chan struct{}) {
	defer close(done)
	wait := interval
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		held := l.beatOnce(ctx)
		cancel()
		wait = interval
		if !held {
			wait = interval / retryFraction
		}
		l.mu.Lock()
		final := l.state == LeaseReleased || (l.state == LeaseLost && finalRefusals[l.err])
		l.mu.Unlock()
		if final {
			return
		}
	}
}

// beatOnce: one heartbeat, or a new checkout after the server ended the lease; true when the seat is held.
func (l *Lease) beatOnce(ctx context.Context) (held bool) {
	defer func() {
		if recover() != nil { // a fault of ours must never reach the application
			held = false
		}
	}()
	err := l.Heartbeat(ctx)
	if err == nil {
		return true
	}
	r, refused := asRefusal(err)
	if !refused {
		l.setErr(fmt.Sprintf("offline: %v", err)) // the lease holds until its end; retried sooner
		return false
	}
	if ctx.Err() != nil {
		return false
	}
	if r.Code != CodeLeaseExpired && r.Code != CodeUnknownLease {
		l.lose(r.Code)
		return false
	}
	// The server ended the lease (it expired while offline, or the vendor freed it): take a seat again.
	if l.key == "" {
		l.lose(CodeLeaseExpired)
		return false
	}
	payload, signed, err := l.c.leaseCall(ctx, "/v1/leases", map[string]any{"product": l.c.product, "key": l.key}, true)
	if r, ok := asRefusal(err); ok {
		l.lose(r.Code)
		return false
	}
	if err != nil {
		l.setErr(fmt.Sprintf("offline: %v", err))
		return false
	}
	l.mu.Lock()
	l.online = true
	l.mu.Unlock()
	l.accept(payload, signed)
	return true
}

func (l *Lease) setErr(why string) { l.mu.Lock(); l.err = why; l.mu.Unlock() }

func (l *Lease) lose(code string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != LeaseReleased {
		l.state, l.err = LeaseLost, code
	}
}

// storedLease is the lease kept in lease.json if it verifies for this machine and has not ended.
func (c *Client) storedLease() *Lease {
	c.mu.Lock()
	now := c.clock.Now()
	s := c.state.load()
	lastSeen, _ := parseISO(s.lastSeen)
	if rolledBack(latestWitness(lastSeen, c.witnessPaths(), s.fileClockSkew), now, c.rollbackTolerance) {
		c.mu.Unlock()
		return nil // the clock was wound back, to stretch a borrow
	}
	if s.credential != nil && (lastSeen.IsZero() || now.After(lastSeen)) {
		s.lastSeen = toISO(now) // a later winding back of the clock is caught against this
		_ = c.save(&s)
	}
	c.mu.Unlock()
	at := serverTime(now, s.clockOffset)
	raw, _, ok := readSmall(filepath.Join(c.dataDir, leaseFileName), maxLeaseBytes)
	if !ok {
		return nil
	}
	value, err := parseJSON(raw)
	if err != nil {
		return nil
	}
	payload, why := judgeStoredLease(value, c.keys, c.product, c.Fingerprint(), at)
	if why != "" {
		return nil
	}
	l := &Lease{c: c}
	l.accept(payload, nil)
	return l
}

// ReleaseLease returns a lease by id ("" for the one kept in the data directory), for processes that do not stay.
func (c *Client) ReleaseLease(ctx context.Context, id string) error {
	if id == "" {
		if l := c.keptLeaseID(); l != "" {
			id = l
		} else {
			return newError(ErrConfiguration, "no lease is kept in the data directory: give the lease id")
		}
	}
	if !leaseIDPattern.MatchString(id) {
		return newError(ErrConfiguration, "not a lease id: %q", id)
	}
	_, _, err := c.leaseCall(ctx, "/v1/leases/"+id+"/release", nil, false)
	if err == nil {
		c.forgetLease(id)
	}
	return err
}

func (c *Client) keptLeaseID() string {
	raw, _, ok := readSmall(filepath.Join(c.dataDir, leaseFileName), maxLeaseBytes)
	if !ok {
		return ""
	}
	value, err := parseJSON(raw)
	signed, _ := value.(map[string]any)
	if err != nil || signed == nil {
		return ""
	}
	payload, err := verifyLease(signed, c.keys, c.product, c.Fingerprint(), time.Time{})
	if err != nil {
		return ""
	}
	return payload["lease"].(string)
}

// forgetLease drops the stored document of a returned lease (a newer lease's document stays).
func (c *Client) forgetLease(id string) {
	path := filepath.Join(c.dataDir, leaseFileName)
	raw, _, ok := readSmall(path, maxLeaseBytes)
	if !ok {
		return
	}
	value, _ := parseJSON(raw)
	signed, _ := value.(map[string]any)
	doc, _ := signed["document"].(map[string]any)
	if doc["lease"] == id {
		_ = os.Remove(path)
	}
}
