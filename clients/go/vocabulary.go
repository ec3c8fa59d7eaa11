package licentia

// The contract's words this SDK acts on, as the core enumerates them
// (src/licentia/core/vocabulary.py; clients/js/src/vocabulary.ts is generated
// from the same enumerations). vocabulary_test.go holds them equal to the
// TypeScript client's generated file.

// Device statuses a signed document carries, and the states the SDK derives offline.
const (
	StateTrial         = "trial"
	StateTrialExpired  = "trial_expired"
	StateRegistered    = "registered"
	StateSuspended     = "suspended"
	StateBlocked       = "blocked"
	StateExpired       = "expired" // the license's expiry passed
	StateGrace         = "grace"
	StateLeaseExpired  = "lease_expired"
	StateClockRollback = "clock_rollback"
	StateUnknown       = "unknown"
)

// Error codes the server sends that the SDK acts on (ServerRefusedError.Code).
const (
	CodeHTTPError         = "http_error"
	CodeInvalidCredential = "invalid_credential"
	CodeUnknownValue      = "unknown_value"
	CodeQuotaExceeded     = "quota_exceeded"
	CodeNoSeatAvailable   = "no_seat_available"
	CodeUnknownLease      = "unknown_lease"
	CodeLeaseExpired      = "lease_expired"
	codeStaleToken        = "stale_token"
	codeValidationError   = "validation_error"
	codeLicenseSuspended  = "license_suspended"
	codeLicenseRevoked    = "license_revoked"
	codeLicenseExpired    = "license_expired"
	codeNotFloating       = "not_floating"
	codeInvalidKey        = "invalid_key"
)

// The RFC 8628 error codes of a sign-in (SignIn, FinishSignIn).
const (
	CodeAuthorizationPending = "authorization_pending" // keep polling
	CodeSlowDown             = "slow_down"             // keep polling, SlowDownStep slower
	CodeAccessDenied         = "access_denied"         // the person refused in the portal
	CodeExpiredToken         = "expired_token"         // nobody confirmed in time: begin again
	CodeInvalidGrant         = "invalid_grant"         // unknown, spent, or another installation's device code
)

// Event kinds the SDK reports.
const (
	eventInstall   = "install"
	eventRegister  = "register"
	eventUsage     = "usage"
	eventUninstall = "uninstall"
	eventFeedback  = "feedback"
)
