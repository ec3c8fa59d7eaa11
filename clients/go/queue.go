package licentia

// The durable event queue: an append-only journal, <dataDir>/events.log.
//
// Each line is one JSON record: {"add": event} when an event is queued,
// {"sent": [ids]} once the server acknowledged them. A record is written and
// fsynced before Track returns (and before a flush counts events as sent), so a
// killed process loses nothing; each event carries a client event id the
// server deduplicates on, so re-sending after a lost answer or a crash between
// the send and the "sent" record counts nothing twice. A torn or damaged line
// (a crash mid-write, an edited file) is skipped, never fatal. When everything
// queued has been sent, the journal is emptied.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"
)

const (
	queueFileName = "events.log"
	maxBatch      = 200 // the server's limit per call
	maxQueueBytes = 64 << 20
	backoffStart  = 200 * time.Millisecond
	backoffCap    = 5 * time.Second
)

// reportedKinds: what an application may report; the server records the rest itself.
var reportedKinds = map[string]bool{eventInstall: true, eventRegister: true, eventUsage: true, eventUninstall: true, eventFeedback: true}

// FlushResult says what a flush did.
type FlushResult struct {
	Sent       int // acknowledged by the server (new and duplicates)
	Duplicates int // already stored by an earlier send
	Dropped    int // refused as malformed: they can never be accepted
	Remaining  int // still queued (offline, deadline reached, or no credential yet)
}

type queuedEvent struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	OccurredAt string         `json:"occurred_at"`
	Data       map[string]any `json:"data"`
	Facts      map[string]any `json:"facts"`
}

type journalRecord struct {
	Add  *queuedEvent `json:"add,omitempty"`
	Sent []string     `json:"sent,omitempty"`
}

type eventQueue struct{ path string }

func newEventQueue(dataDir string) eventQueue {
	return eventQueue{path: filepath.Join(dataDir, queueFileName)}
}

func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (q eventQueue) appendRecord(r journalRecord) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(q.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(q.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// A torn line left by a crash must not swallow this record: it starts on its own line.
	_, err = f.Write(append(append([]byte{'\n'}, line...), '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (q eventQueue) add(kind string, at time.Time, data, facts map[string]any) (string, error) {
	if !reportedKinds[kind] {
		return "", newError(ErrConfiguration, "unknown event kind %q", kind)
	}
	if data == nil {
		data = map[string]any{}
	}
	if facts == nil {
		facts = map[string]any{}
	}
	e := &queuedEvent{ID: newEventID(), Kind: kind, OccurredAt: toISO(at), Data: data, Facts: facts}
	if err := q.appendRecord(journalRecord{Add: e}); err != nil {
		return "", wrapError(ErrConfiguration, err, "cannot queue the event in %s", q.path)
	}
	return e.ID, nil
}

// pending: the queued events not yet sent, in the order they were added.
func (q eventQueue) pending() []queuedEvent {
	raw, _, ok := readSmall(q.path, maxQueueBytes)
	if !ok {
		return nil
	}
	var order []string
	events := map[string]queuedEvent{}
	scanner := bufio.NewScanner(bytes.NewReader(raw))
	scanner.Buffer(make([]byte, 64*1024), maxQueueBytes)
	for scanner.Scan() {
		var r journalRecord
		if json.Unmarshal(scanner.Bytes(), &r) != nil {
			continue // a torn or damaged line: what it held was never acknowledged as queued
		}
		if e := r.Add; e != nil && e.ID != "" && reportedKinds[e.Kind] {
			if _, seen := events[e.ID]; !seen {
				order = append(order, e.ID)
			}
			if e.Data == nil {
				e.Data = map[string]any{}
			}
			if e.Facts == nil {
				e.Facts = map[string]any{}
			}
			events[e.ID] = *e
		}
		for _, id := range r.Sent {
			delete(events, id)
		}
	}
	out := make([]queuedEvent, 0, len(events))
	for _, id := range order {
		if e, ok := events[id]; ok {
			out = append(out, e)
			delete(events, id)
		}
	}
	return out
}

func (q eventQueue) count() int { return len(q.pending()) }

// markSent records the acknowledged events; an empty queue's journal is removed.
func (q eventQueue) markSent(ids []string) error {
	if err := q.appendRecord(journalRecord{Sent: ids}); err != nil {
		return err
	}
	if len(q.pending()) == 0 {
		_ = os.Remove(q.path)
	}
	return nil
}

// flush sends queued events in batches until the queue is empty or ctx ends.
// Offline, 429 and 5xx are retried with exponential backoff and jitter.
// trail: the product whose proxy-log trail is on (""; off): each batch's trail
// GETs go before its POST (trail.go), again when the POST is retried.
func (q eventQueue) flush(ctx context.Context, t *transport, credential *[2]string, trail string) (FlushResult, error) {
	var res FlushResult
	if credential == nil {
		res.Remaining = q.count()
		return res, nil
	}
	retries, backoff := 0, backoffStart
	for ctx.Err() == nil {
		all := q.pending()
		if len(all) == 0 {
			break
		}
		if len(all) > 100 {
			all = all[:100]
		}
		path, body, batch := requestFor(all)
		ids := make([]string, len(batch))
		for i, e := range batch {
			ids[i] = e.ID
		}
		if trail != "" {
			sendTrail(ctx, t, trail, batch)
		}
		answer, err := t.do(ctx, request{method: "POST", path: path, body: body, credential: credential})
		var wait time.Duration
		if err == nil {
			// Acknowledged: only now may the events leave the queue.
			if err := q.markSent(ids); err != nil {
				return res, wrapError(ErrConfiguration, err, "cannot update the event queue %s", q.path)
			}
			res.Sent += len(batch)
			if obj, ok := answer.(map[string]any); ok {
				if n := intField(obj["duplicates"]); n >= 0 && n <= int64(len(batch)) {
					res.Duplicates += int(n)
				}
			}
			retries, backoff = 0, backoffStart
			continue
		}
		if r, ok := asRefusal(err); ok {
			if r.Code == codeValidationError {
				// Malformed events would block the queue for ever; nothing can fix them.
				_ = q.markSent(ids)
				res.Dropped += len(batch)
				continue
			}
			if r.Status != 429 {
				res.Remaining = q.count()
				return res, err
			}
			wait = backoff
			if r.RetryAfter >= 0 {
				wait = time.Duration(r.RetryAfter) * time.Second
			}
		} else if errors.Is(err, ErrOffline) {
			wait = backoff
		} else {
			return res, err
		}
		retries++
		wait = time.Duration(float64(wait) * (0.5 + jitter()/2)) // jitter: clients must not retry in step
		if deadline, ok := ctx.Deadline(); retries > 5 || (ok && time.Until(deadline) < wait) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if backoff *= 2; backoff > backoffCap {
			backoff = backoffCap
		}
	}
	res.Remaining = q.count()
	return res, nil
}

// requestFor: the next call: a batch for /v1/events, or one feedback alone
// for /v1/feedback (its text may be longer than an event's data values).
func requestFor(pending []queuedEvent) (string, any, []queuedEvent) {
	first := pending[0]
	if first.Kind == eventFeedback {
		text, _ := first.Data["text"].(string)
		if text == "" {
			text = "-"
		}
		return "/v1/feedback", map[string]any{"id": first.ID, "text": text, "email": first.Data["email"], "facts": first.Facts}, pending[:1]
	}
	var batch []queuedEvent
	for _, e := range pending {
		if e.Kind == eventFeedback {
			break
		}
		batch = append(batch, e)
	}
	return "/v1/events", map[string]any{"events": batch}, batch
}
