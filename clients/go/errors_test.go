package licentia

import (
	"errors"
	"fmt"
	"testing"
)

func TestOneErrorTreeAsThePythonSDKs(t *testing.T) {
	is := func(err error, kinds ...error) {
		t.Helper()
		for _, k := range kinds {
			if !errors.Is(err, k) {
				t.Fatalf("%v is not %v", err, k)
			}
		}
	}
	isNot := func(err error, kinds ...error) {
		t.Helper()
		for _, k := range kinds {
			if errors.Is(err, k) {
				t.Fatalf("%v is %v", err, k)
			}
		}
	}
	invalid := newError(ErrInvalidAnswer, "x")
	is(invalid, ErrInvalidAnswer, ErrOffline, ErrLicentia)
	isNot(invalid, ErrServerRefused, ErrConfiguration)
	is(newError(ErrInvalidKey, "x"), ErrInvalidKey, ErrLicentia)
	refused := refusalOf(409, []byte(`{"error":{"code":"quota_exceeded","message":"no","meter":"renders","used":10,"limit":10,"remaining":0,"period":"month","period_start":"2026-12-01T00:00:00Z","period_end":null}}`), "")
	is(refused, ErrQuotaExceeded, ErrServerRefused, ErrLicentia)
	isNot(refused, ErrOffline)
	var q *QuotaExceededError
	if !errors.As(refused, &q) || q.Consumption.Limit != 10 || q.Consumption.Meter != "renders" || q.Code != CodeQuotaExceeded {
		t.Fatalf("%+v", q)
	}
	var r *ServerRefusedError
	wrapped := fmt.Errorf("app: %w", refusalOf(429, []byte(`{"error":{"code":"rate_limited","message":"slow down"}}`), "7"))
	if !errors.As(wrapped, &r) || r.Code != "rate_limited" || r.RetryAfter != 7 || r.Status != 429 {
		t.Fatalf("%+v", r)
	}
	if !errors.As(refused, &r) || r.Code != CodeQuotaExceeded {
		t.Fatal("a quota refusal is a ServerRefusedError too")
	}
	garbage := refusalOf(418, []byte("<html>"), "soon")
	if !errors.As(garbage, &r) || r.Code != CodeHTTPError || r.RetryAfter != -1 {
		t.Fatalf("%+v", r)
	}
}
