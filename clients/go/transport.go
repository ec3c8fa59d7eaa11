package licentia

// JSON over HTTP with net/http. Every call has one deadline for the whole
// exchange (the context's, or the client's timeout), answers are read up to a
// size limit, and failures become ErrOffline or a *ServerRefusedError. Answers
// are parsed with the exact parser, so a signed document keeps its big integers.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Version is this SDK's version; ProtocolVersion the public API it speaks (/v1).
const (
	Version         = "0.1.0"
	ProtocolVersion = "1"
)

// UserAgent is sent on every request, with ProtocolVersion in a Licentia-Protocol header too,
// as the other clients send theirs: licentia-client-go/<version> (protocol <n>; <Go version>).
var UserAgent = "licentia-client-go/" + Version + " (protocol " + ProtocolVersion + "; " + runtime.Version() + ")"

// Every answer the protocol has is a few kilobytes; a bigger one is refused
// before it is parsed rather than let anyone on the path make the app buffer it.
const maxAnswerBytes = 1 << 20

// Pauses before the second and third attempts after a reset connection or a
// 502/503/504 (a host behind a load balancer went away), jittered to 50-100 %.
var retryPauses = []time.Duration{50 * time.Millisecond, 250 * time.Millisecond}

type transport struct {
	serverURL string
	timeout   time.Duration
	http      *http.Client
}

func newTransport(serverURL string, timeout time.Duration, client *http.Client) (*transport, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(serverURL, " \t\r\n") {
		return nil, newError(ErrConfiguration, "not a server URL (http:// or https://): %q", serverURL)
	}
	if timeout <= 0 {
		return nil, newError(ErrConfiguration, "the timeout must be positive, not %v", timeout)
	}
	if client == nil {
		// No redirects: an answer comes from the server asked, or it is no answer.
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &transport{serverURL: strings.TrimRight(serverURL, "/"), timeout: timeout, http: client}, nil
}

// credentialPart: what a credential part may be to travel in a header (printable ASCII, no CR/LF).
var credentialPart = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)

type request struct {
	method     string
	path       string
	body       any
	credential *[2]string
	query      url.Values
	noRetry    bool
}

// do sends r and returns the parsed JSON answer.
func (t *transport) do(ctx context.Context, r request) (any, error) {
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	target := t.serverURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var data []byte
	if r.body != nil {
		var err error
		if data, err = json.Marshal(r.body); err != nil {
			return nil, wrapError(ErrConfiguration, err, "cannot encode the request")
		}
	}
	var auth string
	if r.credential != nil {
		device, secret := r.credential[0], r.credential[1]
		// Outside the signature: a secret with CR/LF or anything else is refused, never sent as a header.
		if !credentialPart.MatchString(device) || !credentialPart.MatchString(secret) || strings.Contains(device, ":") {
			return nil, newError(ErrInvalidAnswer, "the device credential is malformed")
		}
		auth = "Device " + device + ":" + secret
	}
	attempts := len(retryPauses) + 1
	if r.noRetry {
		attempts = 1
	}
	for attempt := 0; ; attempt++ {
		answer, err, transient := t.attempt(ctx, r.method, target, data, auth)
		if !transient || attempt+1 >= attempts {
			return answer, err
		}
		pause := time.Duration(float64(retryPauses[attempt]) * (0.5 + jitter()/2))
		if deadline, _ := ctx.Deadline(); time.Until(deadline) < pause+50*time.Millisecond {
			return answer, err
		}
		select {
		case <-ctx.Done():
			return nil, wrapError(ErrOffline, ctx.Err(), "no answer from %s in time", t.serverURL)
		case <-time.After(pause):
		}
	}
}

func (t *transport) attempt(ctx context.Context, method, target string, data []byte, auth string) (any, error, bool) {
	var body io.Reader
	if data != nil {
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, wrapError(ErrConfiguration, err, "cannot build the request"), false
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Licentia-Protocol", ProtocolVersion)
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := t.http.Do(req)
	if err != nil {
		transient := ctx.Err() == nil && !isRefused(err)
		return nil, wrapError(ErrOffline, err, "cannot reach %s", t.serverURL), transient
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, wrapError(ErrOffline, err, "cannot reach %s: the answer broke off", t.serverURL), ctx.Err() == nil
	}
	if len(raw) > maxAnswerBytes {
		return nil, newError(ErrOffline, "%s answered more than %d bytes", t.serverURL, maxAnswerBytes), false
	}
	switch {
	case res.StatusCode == 502 || res.StatusCode == 503 || res.StatusCode == 504:
		return nil, newError(ErrOffline, "server error %d", res.StatusCode), true
	case res.StatusCode >= 500:
		return nil, newError(ErrOffline, "server error %d", res.StatusCode), false
	case res.StatusCode >= 400:
		return nil, refusalOf(res.StatusCode, raw, res.Header.Get("Retry-After")), false
	case res.StatusCode >= 300:
		return nil, newError(ErrInvalidAnswer, "%s answered HTTP %d", t.serverURL, res.StatusCode), false
	}
	value, err := parseJSON(raw)
	if err != nil {
		return nil, newError(ErrInvalidAnswer, "%s answered something that is not JSON", t.serverURL), false
	}
	return value, nil, false
}

// isRefused: nothing listens there; an application whose server is down must start offline at once.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused")
}

var retryAfterPattern = regexp.MustCompile(`^\d{1,9}$`)

func refusalOf(status int, raw []byte, retryAfter string) error {
	e := &ServerRefusedError{Code: CodeHTTPError, Message: "HTTP " + strconv.Itoa(status), Status: status, RetryAfter: -1, Details: map[string]any{}}
	if value, err := parseJSON(raw); err == nil {
		obj, _ := value.(map[string]any)
		if fields, ok := obj["error"].(map[string]any); ok {
			code, ok1 := fields["code"].(string)
			message, ok2 := fields["message"].(string)
			if ok1 && ok2 {
				e.Code, e.Message = truncate(code, 100), truncate(message, 1000)
			}
			// A refusal's figures: plain fields only, nothing nested reaches the application.
			for name, v := range fields {
				if name == "code" || name == "message" {
					continue
				}
				switch x := v.(type) {
				case nil, string, bool:
					e.Details[name] = x
				case json.Number:
					if n, err := x.Int64(); err == nil {
						e.Details[name] = n
					}
				}
			}
		}
	}
	if retryAfterPattern.MatchString(retryAfter) {
		e.RetryAfter, _ = strconv.Atoi(retryAfter)
	}
	if e.Code == CodeQuotaExceeded {
		return &QuotaExceededError{ServerRefusedError: *e, Consumption: consumptionOfRefusal(e.Details, "", time.Now())}
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func asRefusal(err error) (*ServerRefusedError, bool) {
	var q *QuotaExceededError
	if errors.As(err, &q) {
		return &q.ServerRefusedError, true
	}
	var r *ServerRefusedError
	ok := errors.As(err, &r)
	return r, ok
}

// jitter: a fraction in [0, 1) for spreading retries (no secret comes from it).
func jitter() float64 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return float64(int(b[0])<<8|int(b[1])) / 65536
}
