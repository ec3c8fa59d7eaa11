package licentia

// Check, activation and the device calls: one fresh nonce per call, the
// answer verified and bound to its request before anything of it is stored.

import (
	"context"
	"os"
	"time"
)

// Check answers this installation's status: from the server when it answers
// in time, else from the stored document (grace, trial, expiry, lease and
// clock rollback judged offline). It never returns an error: whatever the
// network or the files hold, the answer is a Status (Allowed false when in doubt).
func (c *Client) Check(ctx context.Context) Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	s := c.state.load()
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	status, err := c.deviceCall(ctx, "/v1/check", &s, nil)
	if err == nil {
		c.afterOnlineCheck(ctx, &s, now)
		return status
	}
	// The server is unreachable, refuses, or answered something unverifiable: decide on the
	// stored state as kept (the call may have dropped a voided credential from s in memory).
	return c.checkOffline(c.state.load(), now)
}

// CheckOffline answers from the stored document only, without any network call.
func (c *Client) CheckOffline() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checkOffline(c.state.load(), c.clock.Now())
}

// Activate redeems a license key on this device. A typo is ErrInvalidKey,
// caught before any network call.
func (c *Client) Activate(ctx context.Context, key string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	normalized, err := NormalizeKey(key)
	if err != nil {
		// Evidence of a key typed here: only the prefix, never a whole key.
		_, _ = c.queue.add(eventRegister, now, map[string]any{"key_prefix": keyPrefix(key), "result": "typo"}, c.facts())
		return Status{}, err
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	s := c.state.load()
	status, err := c.deviceCall(ctx, "/v1/activate", &s, map[string]any{"key": normalized})
	if err != nil {
		return Status{}, guard(err)
	}
	_, _ = c.queue.flush(ctx, c.transport, s.credential, trailProduct(&s, c.product))
	return status, nil
}

// Deactivate frees this device's seat on its license (it keeps whatever trial it had left).
func (c *Client) Deactivate(ctx context.Context) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	s := c.state.load()
	status, err := c.deviceCall(ctx, "/v1/deactivate", &s, nil)
	return status, guard(err)
}

// Credential returns this device's credential (device id, secret), asking the server at first contact.
func (c *Client) Credential(ctx context.Context) ([2]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.credential(ctx)
}

func (c *Client) credential(ctx context.Context) ([2]string, error) {
	s := c.state.load()
	if s.credential == nil {
		ctx, cancel := c.deadline(ctx)
		defer cancel()
		if _, err := c.deviceCall(ctx, "/v1/check", &s, nil); err != nil {
			return [2]string{}, guard(err)
		}
	}
	if s.credential == nil {
		return [2]string{}, newError(ErrOffline, "no device credential yet")
	}
	return *s.credential, nil
}

// Flush sends queued events now, until ctx ends (or the SDK's timeout without a deadline).
func (c *Client) Flush(ctx context.Context) (FlushResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flush(ctx)
}

func (c *Client) flush(ctx context.Context) (FlushResult, error) {
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	s := c.state.load()
	if s.credential == nil {
		if _, err := c.deviceCall(ctx, "/v1/check", &s, nil); err != nil {
			return FlushResult{Remaining: c.queue.count()}, nil
		}
	}
	res, err := c.queue.flush(ctx, c.transport, s.credential, trailProduct(&s, c.product))
	if _, refused := asRefusal(err); refused {
		return FlushResult{Remaining: c.queue.count()}, nil
	}
	return res, guard(err)
}

// Feedback queues feedback from the user and tries to send it now; it returns the event id.
func (c *Client) Feedback(ctx context.Context, text, email string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data := map[string]any{"text": text}
	if email != "" {
		data["email"] = email
	}
	id, err := c.queue.add(eventFeedback, c.clock.Now(), data, c.facts())
	if err != nil {
		return "", err
	}
	_, _ = c.flush(ctx)
	return id, nil
}

// Uninstall reports that the application is being uninstalled (call it from
// the uninstaller). The installation's credential stays in its escrow outside
// the data folder, so installing again on this computer resumes the same
// installation with its license; forget removes it too (after the report): a
// later install is then a new installation, which needs the key again.
func (c *Client) Uninstall(ctx context.Context, forget bool) (FlushResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if forget {
		defer c.escrow.forget()
	}
	if _, err := c.queue.add(eventUninstall, c.clock.Now(), map[string]any{"app_version": nullable(c.appVersion)}, c.facts()); err != nil {
		return FlushResult{}, err
	}
	return c.flush(ctx)
}

// LatestRelease is the newest release on this app's channel, or nil: only its
// known fields, and a download link only over https.
func (c *Client) LatestRelease(ctx context.Context) (*Release, error) {
	query := map[string][]string{"product": {c.product}, "channel": {c.channel}}
	if c.appVersion != "" {
		query["current"] = []string{c.appVersion}
	}
	answer, err := c.transport.do(ctx, request{method: "GET", path: "/v1/releases/latest", query: query})
	if err != nil {
		return nil, guard(err)
	}
	return releaseFrom(releaseFields(answer)), nil
}

// MoveFrom adopts, once, the installation kept in a previous data folder on
// this computer into this (empty) one: the server records the move and names
// the new data path; the state left in the old folder stops working there.
func (c *Client) MoveFrom(ctx context.Context, oldDataDir string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if oldDataDir == "" {
		return Status{}, newError(ErrConfiguration, "the old data folder is required")
	}
	oldDir, err := absolutePath(oldDataDir)
	if err != nil || oldDir == c.dataDir {
		return Status{}, newError(ErrConfiguration, "the old data folder is this installation's own")
	}
	oldFile := newStateFile(oldDir)
	s := oldFile.load()
	if s.credential == nil {
		return Status{}, newError(ErrConfiguration, "no installation's state in %s", oldDir)
	}
	if c.state.load().credential != nil {
		return Status{}, newError(ErrConfiguration, "%s already holds an installation: move into an empty data folder", c.dataDir)
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	fp := c.Fingerprint()
	answer, a, err := c.post(ctx, "/v1/move", fp, &s, nil)
	if err != nil {
		return Status{}, guard(err)
	}
	status, err := c.accept("/v1/move", answer, a, &s, fp)
	if err != nil {
		return Status{}, err
	}
	c.escrow.save(*s.credential) // escrowed under the new data path
	newEscrow(c.transport.serverURL, c.product, dataPathHash(c.product, oldDir)).forget()
	_ = os.Remove(oldFile.path) // void on the server now: do not leave it to be run
	return status, nil
}

// -- inside ----------------------------------------------------------------------------

// deadline gives ctx the SDK's timeout unless it has a deadline of its own.
func (c *Client) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, has := ctx.Deadline(); has {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.transport.timeout)
}

func (c *Client) body(fp Fingerprint, s *state, resumed bool, extra map[string]any) map[string]any {
	body := map[string]any{
		"product":     c.product,
		"fingerprint": fp.request(),
		"token":       nullable(s.token),
		"app_version": nullable(c.appVersion),
		"os":          osDescription(),
		"channel":     c.channel,
		"facts":       c.facts(),
	}
	if resumed && s.token == "" {
		body["resumed"] = true
	}
	if s.credential == nil {
		if ticket := readTicket(c.installerTicket); ticket != "" {
			body["installer_ticket"] = ticket // first contact only: the server starts the chain from it
		}
	}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// deviceCall POSTs a device call, verifies and stores the answer. With no
// credential in the data folder, a reinstall resumes its installation from
// the escrow (its credential and no token); that installation was reported
// when first installed, so no install event is queued again.
func (c *Client) deviceCall(ctx context.Context, path string, s *state, extra map[string]any) (Status, error) {
	resumed := false
	if s.credential == nil {
		if cred := c.escrow.load(); cred != nil {
			s.credential, s.token, s.installReported, s.escrowed = cred, "", true, true
			resumed = true
		}
	}
	return c.call(ctx, path, s, resumed, extra)
}

func (c *Client) call(ctx context.Context, path string, s *state, resumed bool, extra map[string]any) (Status, error) {
	fp := c.Fingerprint()
	if path != "/v1/check" && s.credential == nil {
		if _, err := c.call(ctx, "/v1/check", s, false, nil); err != nil {
			return Status{}, err
		}
	}
	answer, a, err := c.post(ctx, path, fp, s, c.body(fp, s, resumed, extra))
	if r, ok := asRefusal(err); ok && r.Code == CodeInvalidCredential && s.credential != nil {
		// The secret is void (re-identified elsewhere, or the state restored from an old copy):
		// drop it, let the fingerprint re-identify this device as a first contact, once.
		s.credential, s.installReported = nil, false
		if path != "/v1/check" {
			if _, err := c.call(ctx, "/v1/check", s, false, nil); err != nil {
				return Status{}, err
			}
		}
		answer, a, err = c.post(ctx, path, fp, s, c.body(fp, s, false, extra))
	}
	if err != nil {
		return Status{}, err
	}
	return c.accept(path, answer, a, s, fp)
}

// post sends body with a fresh nonce: the answer, and what this request asked.
func (c *Client) post(ctx context.Context, path string, fp Fingerprint, s *state, body map[string]any) (any, asked, error) {
	if err := ctx.Err(); err != nil {
		return nil, asked{}, wrapError(ErrOffline, err, "no time left before the timeout")
	}
	a := asked{nonce: newNonce()}
	if s.credential != nil {
		a.device = s.credential[0]
	}
	if s.signed != nil {
		a.known = s.signed
	}
	if body == nil {
		body = c.body(fp, s, false, nil)
	}
	body["nonce"] = a.nonce
	answer, err := c.transport.do(ctx, request{method: "POST", path: path, body: body, credential: s.credential})
	return answer, a, err
}

// accept verifies the server's answer, and that it answers this request,
// before anything of it is stored: a genuine answer of another time, request
// or installation (a fake server replaying what it saved) is ErrInvalidAnswer.
func (c *Client) accept(path string, answer any, a asked, s *state, fp Fingerprint) (Status, error) {
	received := c.clock.Now()
	v := judgeAnswer(answer, a, c.keys, c.product, fp, received)
	if !v.accepted {
		return Status{}, newError(ErrInvalidAnswer, "%s", v.message)
	}
	if v.credential != nil && (s.credential == nil || *s.credential != *v.credential) {
		// Always kept when one comes (a re-identified device's old secret is void).
		s.credential, s.escrowed = v.credential, false
	}
	if s.credential != nil && !s.escrowed {
		// Escrowed outside the data folder, so that a reinstall resumes this installation
		// (tried once: a store that cannot be written is not retried at every check).
		c.escrow.save(*s.credential)
		s.escrowed = true
	}
	if v.token != "" {
		s.token = v.token // "": suspected copy, keep ours
	}
	s.signed = v.signed
	// The answer is fresh (it carries this request's nonce): offline, the status is judged at the
	// local clock plus this offset, and rollback on local times only.
	s.clockOffset = v.clockOffset
	s.lastSeen = toISO(received) // a bound answer resets it: a clock once far ahead heals here
	c.settleWitnesses(received, s.fileClockSkew)
	status := v.status
	if err := c.save(s); err != nil {
		if path != "/v1/check" {
			return Status{}, err // activation and deactivation must say the copy was not kept
		}
		status.NotSaved = true
	}
	return status, nil
}

func (c *Client) save(s *state) error {
	if err := c.state.save(s); err != nil {
		return wrapError(ErrConfiguration, err, "cannot write the data directory %s", c.dataDir)
	}
	// File times are the file system's clock: measure its skew from ours for the file witnesses.
	if st, err := os.Stat(c.state.path); err == nil {
		skew := st.ModTime().Sub(c.clock.Now()).Round(time.Second) / time.Second
		if int64(skew) != s.fileClockSkew && usableOffset(int64(skew)) {
			s.fileClockSkew = int64(skew)
			_ = c.state.save(s)
		}
	}
	return nil
}

func (c *Client) afterOnlineCheck(ctx context.Context, s *state, now time.Time) {
	payload, _ := s.signed["document"].(map[string]any)
	changed := false
	version := map[string]any{"app_version": nullable(c.appVersion)}
	if !s.installReported {
		if _, err := c.queue.add(eventInstall, now, version, c.facts()); err == nil {
			s.installReported, changed = true, true
		}
	}
	if payload["status"] == StateRegistered && usageDue(payload, s.lastUsageReport, now) {
		if _, err := c.queue.add(eventUsage, now, version, c.facts()); err == nil {
			s.lastUsageReport, changed = toISO(now), true
		}
	}
	if changed {
		_ = c.save(s)
	}
	_, _ = c.queue.flush(ctx, c.transport, s.credential, trailProduct(s, c.product))
}

// lastSeenStep: last_seen is written at most this often on offline checks: a
// write (with fsync) per check costs far more than the check, and a clock
// wound back by less than this plus the tolerance buys almost nothing.
const lastSeenStep = 10 * time.Minute

func (c *Client) witnessPaths() []string {
	return []string{c.state.path, c.queue.path, c.dataDir}
}

// latestWitness: the latest of last_seen and the modification times of the
// state file, the event queue and the data directory, on the local clock.
func latestWitness(lastSeen time.Time, paths []string, skew int64) time.Time {
	latest := lastSeen
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			if t := st.ModTime().Add(-time.Duration(skew) * time.Second); t.After(latest) {
				latest = t
			}
		}
	}
	return latest
}

// rolledBack: the local clock now is further behind the latest witness than the tolerance (wound back).
func rolledBack(witness, now time.Time, tolerance time.Duration) bool {
	return !witness.IsZero() && now.Add(tolerance).Before(witness)
}

// seen: the sealed last_seen after a check at local time now that was not a rollback. A bound
// answer sets it to now whatever it was; an offline check moves it forward only, at most every lastSeenStep.
func seen(lastSeen, now time.Time, answered bool) time.Time {
	if answered || lastSeen.IsZero() || now.Sub(lastSeen) > lastSeenStep {
		return now
	}
	return lastSeen
}

// settleWitnesses brings back, after a bound answer, file times a clock once
// far ahead left (else it would deny offline checks until the real time caught up).
func (c *Client) settleWitnesses(now time.Time, skew int64) {
	limit := now.Add(c.rollbackTolerance).Add(time.Duration(skew) * time.Second)
	stamp := now.Add(time.Duration(skew) * time.Second)
	for _, p := range c.witnessPaths() {
		if st, err := os.Stat(p); err == nil && st.ModTime().After(limit) {
			_ = os.Chtimes(p, stamp, stamp)
		}
	}
}

func (c *Client) checkOffline(s state, now time.Time) Status {
	if s.signed == nil {
		if s.corrupt {
			return denied("corrupt_state", false, StateUnknown)
		}
		return denied("no_document", false, StateUnknown)
	}
	lastSeen, _ := parseISO(s.lastSeen)
	if rolledBack(latestWitness(lastSeen, c.witnessPaths(), s.fileClockSkew), now, c.rollbackTolerance) {
		// The clock was wound back, to stretch a trial or a lease.
		return denied("clock_rollback", false, StateClockRollback)
	}
	// The hardware is read now, never taken from the data directory: a state copied to
	// other hardware (whatever its fields say) matches nothing here.
	status := decideOffline(offlineInputs{
		signed: s.signed, keys: c.keys, product: c.product, fingerprint: c.componentsFingerprint(),
		now: now, offsetSeconds: s.clockOffset, rollbackTolerance: c.rollbackTolerance,
	})
	if status.Reason == "invalid_document" {
		return status
	}
	if later := seen(lastSeen, now, false); !later.Equal(lastSeen) {
		s.lastSeen = toISO(later)
		_ = c.save(&s) // a read-only data dir must not stop the app; rollback detection is weaker then
	}
	return status
}
