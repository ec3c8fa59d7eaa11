package licentia

// The proxy-log trail and the usage reports' schedule, as the signed status document asks
// (docs/web-api.md, "The proxy-log trail"; the Python SDK's client/trail.py and core/trail.py).
//
// With "proxy_trail": true in the stored signed document, each install, register and usage event
// goes first as plain GETs whose query carries its version and facts (never the license key or the
// credential), then in its POST as always. The POST is the record: a failed GET is ignored, and the
// GETs take at most half of the time left to the flush. With "usage_report_once": true, a
// registered installation reports usage once only, usage_report_days after registered_at.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	trailPath      = "/v1/trail"
	maxTrailTarget = 2000 // the longest request target Internet Explorer and many proxies take
	trailEnd       = "&end=1"
)

// trailFields: the fields a trail carries, in the order they are written; nothing else is ever sent.
var trailFields = func() []string {
	names := append([]string{"version"}, FactNames...)
	for _, kind := range []string{"author", "tracker"} {
		for n := 1; n <= 10; n++ {
			names = append(names, fmt.Sprintf("%s_%d", kind, n))
		}
	}
	return names
}()

// trailEncode: RFC 3986 percent-encoding of the UTF-8 bytes, unreserved characters kept, %XX upper-case.
func trailEncode(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func trailText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return string(x)
		}
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

// trailTargets: the GETs' request targets for one event, each at most maxTrailTarget bytes, packed greedily.
func trailTargets(product, mode, eventID string, fields map[string]any) []string {
	head := func(n int) string {
		return fmt.Sprintf("%s?p=%s&m=%s&i=%s&n=%d", trailPath, trailEncode(product), trailEncode(mode), trailEncode(eventID), n)
	}
	fits := func(target, piece string) bool { return len(target)+len(piece)+len(trailEnd) <= maxTrailTarget }
	var parts []string
	n := 1
	current := head(n)
	for _, name := range trailFields {
		text := trailText(fields[name])
		if text == "" {
			continue
		}
		piece := "&" + name + "=" + trailEncode(text)
		if fits(current, piece) {
			current += piece
			continue
		}
		if current != head(n) {
			parts = append(parts, current)
			n++
			current = head(n)
		}
		if !fits(current, piece) {
			// Too long for a part of its own: the longest prefix of whole characters that fits.
			piece = "&" + name + "="
			for _, r := range text {
				more := trailEncode(string(r))
				if !fits(current, piece+more) {
					break
				}
				piece += more
			}
		}
		current += piece
	}
	return append(parts, current+trailEnd)
}

// reportDays: the signed usage_report_days when it is an integer from 1 to 9999, else 1.
func reportDays(v any) int64 {
	if days := intField(v); days > 0 && days < 10000 {
		return days
	}
	return 1
}

// usageDue: whether a registered installation reports usage at this online check.
func usageDue(payload map[string]any, lastReport string, now time.Time) bool {
	days := time.Duration(reportDays(payload["usage_report_days"])) * 24 * time.Hour
	if payload["usage_report_once"] == true {
		text, ok := payload["registered_at"].(string)
		registered, err := parseISO(text)
		if lastReport != "" || !ok || err != nil {
			return false
		}
		return now.Sub(registered) >= days
	}
	last, err := parseISO(lastReport)
	return err != nil || now.Sub(last) >= days || now.Before(last)
}

// trailProduct: the product whose trail the stored document asks for, or "" when it does not.
func trailProduct(s *state, product string) string {
	if payload, _ := s.signed["document"].(map[string]any); payload["proxy_trail"] == true {
		return product
	}
	return ""
}

// sendTrail sends the trail GETs of a batch's install, register and usage events; errors are ignored.
func sendTrail(ctx context.Context, t *transport, product string, batch []queuedEvent) int {
	left := t.timeout
	if deadline, ok := ctx.Deadline(); ok {
		left = time.Until(deadline)
	}
	ctx, cancel := context.WithTimeout(ctx, left/2)
	defer cancel()
	taken := 0
	for _, e := range batch {
		if e.Kind != eventInstall && e.Kind != eventRegister && e.Kind != eventUsage {
			continue
		}
		fields := map[string]any{}
		for k, v := range e.Facts {
			fields[k] = v
		}
		fields["version"] = e.Data["app_version"]
		for _, target := range trailTargets(product, e.Kind, e.ID, fields) {
			if ctx.Err() != nil {
				return taken
			}
			if _, err := t.do(ctx, request{method: "GET", path: target, noRetry: true}); err == nil || errors.Is(err, ErrInvalidAnswer) {
				taken++ // 204: no body, which is no JSON
			}
		}
	}
	return taken
}
