package licentia

// Signing the user in by the device flow (RFC 8628): the polling rules, then
// end to end against a real `licentia serve`, where the person's decision is
// made as the portal makes it (device_flow in the server's database).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const lead = "lead@team.example"

func aCode(t *testing.T) SignInCode {
	t.Helper()
	code, err := signInCodeOf(map[string]any{
		"device_code": "secret-device-code", "user_code": "BDFG-HJKM",
		"verification_uri": "https://l.example/portal/device", "expires_in": int64(900), "interval": int64(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// fakeWait records what the poller slept, and ends like ctx after budget.
func fakeWait(budget time.Duration, slept *[]time.Duration) func(context.Context, time.Duration) error {
	var total time.Duration
	return func(_ context.Context, d time.Duration) error {
		*slept = append(*slept, d)
		total += d
		if total > budget {
			return context.DeadlineExceeded
		}
		return nil
	}
}

func TestSignInPollsEveryIntervalAndSlowDownAddsFiveSeconds(t *testing.T) {
	answers := []string{CodeAuthorizationPending, CodeSlowDown, CodeAuthorizationPending}
	var slept []time.Duration
	var codes []string
	status, err := finishSignIn(context.Background(), aCode(t), func(_ context.Context, deviceCode string) (Status, error) {
		codes = append(codes, deviceCode)
		if len(answers) > 0 {
			next := answers[0]
			answers = answers[1:]
			return Status{}, &ServerRefusedError{Code: next, Status: 400}
		}
		return Status{User: lead}, nil
	}, fakeWait(time.Hour, &slept))
	if err != nil || status.User != lead {
		t.Fatal(status, err)
	}
	if fmt.Sprint(slept) != "[5s 5s 10s 10s]" || len(codes) != 4 || codes[0] != "secret-device-code" {
		t.Fatal(slept, codes)
	}
}

func TestSignInStopsAtTheDeadlineAndARefusalEndsIt(t *testing.T) {
	var slept []time.Duration
	pending := func(context.Context, string) (Status, error) {
		return Status{}, &ServerRefusedError{Code: CodeAuthorizationPending, Status: 400}
	}
	_, err := finishSignIn(context.Background(), aCode(t), pending, fakeWait(12*time.Second, &slept))
	if !errors.Is(err, ErrOffline) || !errors.Is(err, context.DeadlineExceeded) || len(slept) != 3 {
		t.Fatal(err, slept)
	}
	for _, code := range []string{CodeAccessDenied, CodeExpiredToken, CodeInvalidGrant} {
		_, err := finishSignIn(context.Background(), aCode(t), func(context.Context, string) (Status, error) {
			return Status{}, &ServerRefusedError{Code: code, Status: 400}
		}, fakeWait(time.Hour, new([]time.Duration)))
		if r, ok := asRefusal(err); !ok || r.Code != code || !errors.Is(err, ErrServerRefused) {
			t.Fatal(code, err)
		}
	}
	// A real context: the wait itself ends with it.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := finishSignIn(ctx, aCode(t), pending, sleepCtx); !errors.Is(err, ErrOffline) {
		t.Fatal(err)
	}
}

func TestTheCodeToShowNeverShowsItsDeviceCode(t *testing.T) {
	code := aCode(t)
	raw, _ := json.Marshal(code)
	for _, shown := range []string{fmt.Sprint(code), fmt.Sprintf("%+v", code), fmt.Sprintf("%#v", code), string(raw)} {
		if strings.Contains(shown, "secret") || !strings.Contains(shown, "BDFG-HJKM") {
			t.Fatal(shown)
		}
	}
	if code.VerificationURIComplete != code.VerificationURI || code.Interval != 5*time.Second {
		t.Fatal(code)
	}
	good := map[string]any{"device_code": "d", "user_code": "BDFG-HJKM", "verification_uri": "https://l.example/d", "expires_in": int64(900), "interval": int64(5)}
	for field, bad := range map[string]any{"verification_uri": "javascript:alert(1)", "interval": int64(0), "user_code": "A\nB", "device_code": "", "expires_in": "900"} {
		answer := map[string]any{}
		for k, v := range good {
			answer[k] = v
		}
		answer[field] = bad
		if _, err := signInCodeOf(answer); !errors.Is(err, ErrInvalidAnswer) {
			t.Fatal(field, err)
		}
	}
}

// decideSignIn: the person approves or denies userCode as the portal would; "expire": nobody confirmed in time.
func (s *liveServer) decideSignIn(t *testing.T, action, userCode, email string) {
	t.Helper()
	if err := s.decide(action, userCode, email); err != nil {
		t.Fatal(err)
	}
}

func (s *liveServer) decide(action, userCode, email string) error {
	// The script is shared by every client's tests (what the portal's approve route does, in the server's database).
	out, err := exec.Command(s.python, filepath.Join("..", "testing", "decide_sign_in.py"), filepath.Join(s.dataDir, "licentia.db"), action, userCode, email).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", action, err, out)
	}
	return nil
}

func TestSigningTheUserInAgainstARealServer(t *testing.T) {
	ownUserConfig(t)
	t.Setenv("LICENTIA_DEVICE_POLL_SECONDS", "1")
	server := startServer(t)
	server.cli(t, "policy", "create", "my-app", "Team", "--set", "seat_unit=user", "--set", "max_devices=2", "--set", "machines_per_user=2")
	server.cli(t, "license", "issue", "--product", "my-app", "--email", lead, "--policy", "Team")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("the person confirms the code: the status names them, offline too, and the device code is kept nowhere", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		if lic.Check(ctx).User != "" {
			t.Fatal("a user before any sign-in")
		}
		code, err := lic.BeginSignIn(ctx)
		if err != nil || len(code.UserCode) != 9 || !strings.HasSuffix(code.VerificationURI, "/portal/device") || !strings.Contains(code.VerificationURIComplete, "?code=") {
			t.Fatal(code, err)
		}
		decided := make(chan error, 1)
		go func() { decided <- server.decide("approve", code.UserCode, lead) }() // the application polls meanwhile
		status, err := lic.FinishSignIn(ctx, code)
		if err := <-decided; err != nil {
			t.Fatal(err)
		}
		if err != nil || status.State != StateRegistered || status.User != lead || !status.Allowed || !status.Online {
			t.Fatalf("%+v %v", status, err)
		}
		if offline := lic.CheckOffline(); offline.State != StateRegistered || offline.User != lead {
			t.Fatalf("%+v", offline)
		}
		if lic.Check(ctx).User != lead {
			t.Fatal("the online check forgot the user")
		}
		saved, _ := os.ReadFile(filepath.Join(lic.DataDir(), "state.json"))
		if strings.Contains(string(saved), `"device_code"`) {
			t.Fatal("the device code was written to disk")
		}

		// The one-call form, on a second computer of the same person.
		desktop := server.app(t, newFakeMachine(t), t.TempDir())
		shown := 0
		again, err := desktop.SignIn(ctx, func(c SignInCode) {
			shown++
			server.decideSignIn(t, "approve", c.UserCode, lead)
		})
		if err != nil || again.User != lead || shown != 1 {
			t.Fatal(again, err, shown)
		}
	})

	t.Run("a refused sign-in is access_denied, an expired one expired_token, and the app stays as it was", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		lic.Check(ctx)
		code, err := lic.BeginSignIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		server.decideSignIn(t, "deny", code.UserCode, lead)
		if _, err := lic.FinishSignIn(ctx, code); !isRefusal(err, CodeAccessDenied) {
			t.Fatal(err)
		}
		late, err := lic.BeginSignIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		server.decideSignIn(t, "expire", late.UserCode, "")
		if _, err := lic.FinishSignIn(ctx, late); !isRefusal(err, CodeExpiredToken) {
			t.Fatal(err)
		}
		if status := lic.Check(ctx); status.State != StateTrial || status.User != "" {
			t.Fatalf("%+v", status)
		}
	})
}

func isRefusal(err error, code string) bool {
	r, ok := asRefusal(err)
	return ok && r.Code == code
}
