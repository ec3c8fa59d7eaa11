package licentia

import (
	"errors"
	"fmt"
)

// The SDK's one error tree, mirroring the Python SDK's. Every error a method
// returns matches ErrLicentia with errors.Is, so an application can test one
// value around Check and never crash on licensing:
//
//	ErrLicentia
//	├── ErrConfiguration   bad public key, product slug, server URL or data directory
//	├── ErrInvalidKey      a license key with a typo, caught before any network call
//	├── ErrOffline         the server could not be reached in time
//	│   └── ErrInvalidAnswer  an answer that is not JSON or does not verify: as good as none
//	└── ErrServerRefused   the server answered with an error (*ServerRefusedError: Code, Status, ...)
//	    └── ErrQuotaExceeded  a meter's limit for the period would be passed; nothing was counted
//
// Errors carry their kind and a message; errors.As gives the *Error (or the
// *ServerRefusedError, *QuotaExceededError) with the details.
var (
	ErrLicentia      = errors.New("licentia")
	ErrConfiguration = errors.New("licentia: configuration error")
	ErrInvalidKey    = errors.New("licentia: invalid license key")
	ErrOffline       = errors.New("licentia: offline")
	ErrInvalidAnswer = errors.New("licentia: invalid answer")
	ErrServerRefused = errors.New("licentia: server refused")
	ErrQuotaExceeded = errors.New("licentia: quota exceeded")
)

// parents lists what each kind is also, for errors.Is.
var parents = map[error][]error{
	ErrConfiguration: {ErrLicentia},
	ErrInvalidKey:    {ErrLicentia},
	ErrOffline:       {ErrLicentia},
	ErrInvalidAnswer: {ErrOffline, ErrLicentia},
	ErrServerRefused: {ErrLicentia},
	ErrQuotaExceeded: {ErrServerRefused, ErrLicentia},
}

// Error is every error the SDK returns but refusals by the server.
type Error struct {
	Kind    error // one of the Err* values above
	Message string
	Err     error // the lower error, if any (never needed to act on)
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Is(target error) bool { return isKind(e.Kind, target) }

func isKind(kind, target error) bool {
	if kind == target {
		return true
	}
	for _, p := range parents[kind] {
		if p == target {
			return true
		}
	}
	return false
}

func newError(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func wrapError(kind error, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...) + ": " + err.Error(), Err: err}
}

// ServerRefusedError: the server answered with an error; Code is the stable contract.
type ServerRefusedError struct {
	Code    string
	Message string // the server's message, for people
	Status  int    // the HTTP status
	// RetryAfter is the Retry-After header in seconds (rate_limited, no_seat_available,
	// transfer_limit), or -1 without one.
	RetryAfter int
	// Details are the error's other plain fields (unverified: figures to show, never to grant by).
	Details map[string]any
}

func (e *ServerRefusedError) Error() string { return e.Code + ": " + e.Message }

func (e *ServerRefusedError) Is(target error) bool { return isKind(ErrServerRefused, target) }

// QuotaExceededError: 409 quota_exceeded, nothing was counted; Consumption says where the meter stands.
type QuotaExceededError struct {
	ServerRefusedError
	Consumption Consumption
}

func (e *QuotaExceededError) Is(target error) bool { return isKind(ErrQuotaExceeded, target) }

func (e *QuotaExceededError) Unwrap() error { return &e.ServerRefusedError }
