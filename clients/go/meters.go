package licentia

// Metered use: Consume("renders", 3) (POST /v1/consume). The server counts;
// the SDK only asks. Each consumption carries an idempotency key chosen once,
// so the retries after a network error (the answer may have been lost after
// the server counted) are counted once. Past the limit: *QuotaExceededError.

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"time"
)

var (
	meterName      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	idempotencyKey = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)
)

const maxAmount = 1<<53 - 1

// Consumption says where a meter stands for its period (the server's
// figures, unsigned: to show, never to grant by). Limit and Remaining are 0
// in a refusal without figures.
type Consumption struct {
	Meter       string
	Used        int64
	Limit       int64
	Remaining   int64
	Period      string
	PeriodStart string // ISO 8601
	PeriodEnd   string // ISO 8601, "" for a meter that never resets
	Replayed    bool   // the server had already counted this consumption (a retry): counted once
}

func whole(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, x >= 0 && x <= maxAmount
	case json.Number:
		text, err := canonicalInteger(string(x))
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(text, 10, 64)
		return n, err == nil && n >= 0 && n <= maxAmount
	}
	return 0, false
}

// consumptionOf checks the server's figures field by field.
func consumptionOf(unverified any) (Consumption, error) {
	obj, _ := unverified.(map[string]any)
	bad := newError(ErrInvalidAnswer, "the server's answer to a consumption is malformed")
	c := Consumption{Replayed: obj["replayed"] == true}
	var ok1, ok2, ok3 bool
	c.Used, ok1 = whole(obj["used"])
	c.Limit, ok2 = whole(obj["limit"])
	c.Remaining, ok3 = whole(obj["remaining"])
	meter, ok4 := obj["meter"].(string)
	period, ok5 := obj["period"].(string)
	start, ok6 := obj["period_start"].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return Consumption{}, bad
	}
	started, err := parseISO(start)
	if err != nil {
		return Consumption{}, bad
	}
	c.Meter, c.Period, c.PeriodStart = meter, period, toISO(started)
	end, present := obj["period_end"]
	if !present {
		return Consumption{}, bad
	}
	if end != nil {
		text, ok := end.(string)
		ended, err := parseISO(text)
		if !ok || err != nil {
			return Consumption{}, bad
		}
		c.PeriodEnd = toISO(ended)
	}
	return c, nil
}

// consumptionOfRefusal: the figures a quota_exceeded error carries beside its code (plain
// fields only; meter the one asked when absent), or nothing left when they do not read.
func consumptionOfRefusal(details map[string]any, meter string, now time.Time) Consumption {
	fields := map[string]any{"meter": meter}
	for k, v := range details {
		fields[k] = v
	}
	c, err := consumptionOf(fields)
	if err != nil {
		return Consumption{Meter: meter, Period: "unknown", PeriodStart: toISO(now)}
	}
	return c
}

// What to do with the server's answer to a consumption (the conformance vectors' outcomes).
const (
	outcomeConsumed      = "consumed"
	outcomeInvalidAnswer = "invalid_answer"
	outcomeOffline       = "offline"
	outcomeQuotaExceeded = "quota_exceeded"
	outcomeCheckAndRetry = "check_and_retry"
	outcomeRefused       = "refused"
)

// consumptionOutcome judges an answer to POST /v1/consume: its outcome, the error code, the figures.
func consumptionOutcome(meter string, now time.Time, status int, body []byte) (string, string, *Consumption) {
	switch {
	case status >= 500:
		return outcomeOffline, "", nil
	case status >= 400:
		err := refusalOf(status, body, "")
		r, _ := asRefusal(err)
		switch r.Code {
		case CodeQuotaExceeded:
			c := consumptionOfRefusal(r.Details, meter, now)
			return outcomeQuotaExceeded, r.Code, &c
		case codeStaleToken, CodeInvalidCredential:
			return outcomeCheckAndRetry, r.Code, nil
		}
		return outcomeRefused, r.Code, nil
	}
	value, err := parseJSON(body)
	if err != nil {
		return outcomeInvalidAnswer, "", nil
	}
	c, err := consumptionOf(value)
	if err != nil {
		return outcomeInvalidAnswer, "", nil
	}
	return outcomeConsumed, "", &c
}

// Consume counts amount of meter on the server. idempotencyKey may be ""
// (one is chosen); the same key is counted once however often it is sent.
// Past the meter's limit it returns a *QuotaExceededError (errors.Is ErrQuotaExceeded)
// and nothing is counted.
func (c *Client) Consume(ctx context.Context, meter string, amount int64, idempotency string) (Consumption, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !meterName.MatchString(meter) {
		return Consumption{}, newError(ErrConfiguration, "not a meter name: %q", meter)
	}
	if amount < 0 || amount > maxAmount {
		return Consumption{}, newError(ErrConfiguration, "the amount is a whole number from 0, not %d", amount)
	}
	if idempotency == "" {
		idempotency = newEventID()
	}
	if !idempotencyKey.MatchString(idempotency) {
		return Consumption{}, newError(ErrConfiguration, "an idempotency key is 1-64 printable ASCII characters without spaces")
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	refreshed := false
	for attempt := 1; ; attempt++ {
		credential, err := c.credential(ctx)
		if err != nil {
			return Consumption{}, err
		}
		body := map[string]any{"meter": meter, "amount": amount, "token": nullable(c.state.load().token), "idempotency_key": idempotency}
		answer, err := c.transport.do(ctx, request{method: "POST", path: "/v1/consume", body: body, credential: &credential})
		if r, ok := asRefusal(err); ok {
			if (r.Code == codeStaleToken || r.Code == CodeInvalidCredential) && !refreshed {
				// Another process of this installation rotated the token (or the secret was
				// replaced): one online check brings the live ones.
				refreshed = true
				s := c.state.load()
				_, _ = c.deviceCall(ctx, "/v1/check", &s, nil)
				continue
			}
			if r.Code == CodeQuotaExceeded {
				return Consumption{}, &QuotaExceededError{ServerRefusedError: *r, Consumption: consumptionOfRefusal(r.Details, meter, c.clock.Now())}
			}
			return Consumption{}, err
		}
		if err != nil {
			if errors.Is(err, ErrOffline) && attempt < 3 && ctx.Err() == nil {
				continue // the same key: counted once even if the lost answer had been counted
			}
			return Consumption{}, guard(err)
		}
		return consumptionOf(answer)
	}
}
