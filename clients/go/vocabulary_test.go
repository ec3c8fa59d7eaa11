package licentia

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The words in vocabulary.go are the core's: each is in the TypeScript client's
// vocabulary.ts, which conformance/generate.py writes from the core's enumerations.
func TestTheContractsWordsAreTheCores(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "js", "src", "vocabulary.ts"))
	if err != nil {
		t.Skipf("the TypeScript client's generated words are not beside this module: %v", err)
	}
	words := map[string]bool{}
	for _, m := range regexp.MustCompile(`[A-Z_]+: "(\w+)"`).FindAllStringSubmatch(string(raw), -1) {
		words[m[1]] = true
	}
	for _, w := range []string{
		StateTrial, StateTrialExpired, StateRegistered, StateSuspended, StateBlocked, StateExpired,
		CodeHTTPError, CodeInvalidCredential, CodeUnknownValue, CodeQuotaExceeded, CodeNoSeatAvailable,
		CodeUnknownLease, CodeLeaseExpired, codeStaleToken, codeValidationError, codeLicenseSuspended, codeLicenseRevoked, codeLicenseExpired,
		codeNotFloating, codeInvalidKey,
		CodeAuthorizationPending, CodeSlowDown, CodeAccessDenied, CodeExpiredToken, CodeInvalidGrant,
		eventInstall, eventRegister, eventUsage, eventUninstall, eventFeedback,
	} {
		if !words[w] {
			t.Errorf("%q is not one of the core's words", w)
		}
	}
}
