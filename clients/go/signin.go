package licentia

// Signing the application's user in: the OAuth 2.0 device authorization grant
// (RFC 8628), as the Python SDK's licentia.client.signin does it.
//
// For a license whose seats are named users. The application asks the server
// for a code (BeginSignIn), shows it with the portal's address, and polls
// (FinishSignIn) while the person confirms it in their browser; once they did,
// the answer is the signed status document, now naming the user (Status.User),
// verified, bound to the poll's nonce and stored as every check's answer is.
// The device code is this installation's alone (the server checks its
// credential at each poll): it is never printed, logged nor written to disk.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"
)

// SlowDownStep is what a slow_down answer adds to the polling interval (RFC 8628 section 3.5).
const SlowDownStep = 5 * time.Second

var (
	webPage   = regexp.MustCompile(`^https?://[\x21-\x7e]+$`)
	shownCode = regexp.MustCompile(`^[\x20-\x7e]{1,20}$`)
)

// SignInCode is what to show the person: UserCode and where to type it
// (VerificationURI). VerificationURIComplete is the same page with the code
// filled in (a link to open, or a QR code). The secret device code inside is
// unexported and printed by neither fmt nor encoding/json.
type SignInCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               time.Duration
	Interval                time.Duration
	deviceCode              string
}

// String shows what the person may see, never the device code.
func (c SignInCode) String() string {
	return fmt.Sprintf("SignInCode{UserCode: %q, VerificationURI: %q}", c.UserCode, c.VerificationURI)
}

// GoString keeps %#v from printing the device code too.
func (c SignInCode) GoString() string { return c.String() }

// signInCodeOf checks the server's answer to POST /v1/device/authorize field by field.
func signInCodeOf(unverified any) (SignInCode, error) {
	obj, ok := unverified.(map[string]any)
	if !ok {
		return SignInCode{}, newError(ErrInvalidAnswer, "the sign-in answer is not an object")
	}
	code, _ := obj["user_code"].(string)
	if !shownCode.MatchString(code) {
		return SignInCode{}, newError(ErrInvalidAnswer, "the sign-in answer has no code to show")
	}
	deviceCode, _ := obj["device_code"].(string)
	if deviceCode == "" || len(deviceCode) > 100 {
		return SignInCode{}, newError(ErrInvalidAnswer, "the sign-in answer has no device code")
	}
	expiresIn, ok1 := whole(obj["expires_in"])
	interval, ok2 := whole(obj["interval"])
	if !ok1 || !ok2 || expiresIn <= 0 || expiresIn > 86400 || interval <= 0 || interval > 86400 {
		return SignInCode{}, newError(ErrInvalidAnswer, "the sign-in answer has no lifetime or interval")
	}
	uri, _ := obj["verification_uri"].(string)
	complete := uri
	if v, present := obj["verification_uri_complete"]; present {
		complete, _ = v.(string)
	}
	if !webPage.MatchString(uri) || !webPage.MatchString(complete) {
		return SignInCode{}, newError(ErrInvalidAnswer, "the sign-in answer names no web page")
	}
	return SignInCode{
		UserCode: code, VerificationURI: uri, VerificationURIComplete: complete,
		ExpiresIn: time.Duration(expiresIn) * time.Second, Interval: time.Duration(interval) * time.Second,
		deviceCode: deviceCode,
	}, nil
}

// BeginSignIn starts signing this installation's user in (a license whose
// seats are users): the code to show them. Show UserCode and VerificationURI
// (or open VerificationURIComplete), then call FinishSignIn.
func (c *Client) BeginSignIn(ctx context.Context) (SignInCode, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	credential, err := c.credential(ctx)
	if err != nil {
		return SignInCode{}, err
	}
	body := map[string]any{"product": c.product}
	answer, err := c.transport.do(ctx, request{method: "POST", path: "/v1/device/authorize", body: body, credential: &credential, noRetry: true})
	if err != nil {
		return SignInCode{}, guard(err)
	}
	return signInCodeOf(answer)
}

// FinishSignIn waits for the person to confirm code, polling every Interval
// (SlowDownStep more after each slow_down answer), until ctx ends (without a
// deadline: the code's lifetime). It returns the verified status, whose User
// names them; a *ServerRefusedError with CodeAccessDenied (refused in the
// portal) or CodeExpiredToken (nobody confirmed in time: begin again); or
// ErrOffline once ctx is done.
func (c *Client) FinishSignIn(ctx context.Context, code SignInCode) (Status, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, code.ExpiresIn+code.Interval)
		defer cancel()
	}
	return finishSignIn(ctx, code, c.pollSignIn, sleepCtx)
}

// SignIn is both steps: show(code) tells the person where to confirm it, then
// FinishSignIn waits for them (Status.User).
func (c *Client) SignIn(ctx context.Context, show func(SignInCode)) (Status, error) {
	code, err := c.BeginSignIn(ctx)
	if err != nil {
		return Status{}, err
	}
	show(code)
	return c.FinishSignIn(ctx, code)
}

// pollSignIn is one poll of /v1/device/token: answered as a check is (a signed
// status bound to this poll's nonce), verified and stored the same way.
func (c *Client) pollSignIn(ctx context.Context, deviceCode string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.transport.timeout)
	defer cancel()
	s := c.state.load()
	status, err := c.deviceCall(ctx, "/v1/device/token", &s, map[string]any{"device_code": deviceCode})
	return status, guard(err)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finishSignIn is FinishSignIn's rulebook, with the poll and the wait passed in (tests).
func finishSignIn(
	ctx context.Context, code SignInCode,
	poll func(context.Context, string) (Status, error),
	sleep func(context.Context, time.Duration) error,
) (Status, error) {
	if code.deviceCode == "" {
		return Status{}, newError(ErrConfiguration, "not a code from BeginSignIn")
	}
	interval := code.Interval
	for {
		if err := sleep(ctx, interval); err != nil {
			return Status{}, wrapError(ErrOffline, err, "the sign-in was not confirmed in time")
		}
		status, err := poll(ctx, code.deviceCode)
		if err == nil {
			return status, nil
		}
		if r, ok := asRefusal(err); ok {
			switch r.Code {
			case CodeSlowDown:
				interval += SlowDownStep
			case CodeAuthorizationPending:
			default:
				return Status{}, err
			}
			continue
		}
		// A network blip while waiting (nothing of an unverified answer is kept): keep polling until ctx ends.
		if !errors.Is(err, ErrOffline) || ctx.Err() != nil {
			return Status{}, guard(err)
		}
	}
}

// userOf is the person the signed document names, on a license whose seats are users, else "".
func userOf(payload map[string]any) string {
	found, _ := payload["user"].(string)
	if found == "" || utf8.RuneCountInString(found) > 320 || !utf8.ValidString(found) {
		return ""
	}
	for _, r := range found {
		if !unicode.IsPrint(r) {
			return ""
		}
	}
	return found
}
