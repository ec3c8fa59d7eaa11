package licentia

// Online answers a client can trust: bound to the request that asked, and the
// server's time kept as an offset. Same rules as licentia.core.answers; the
// conformance vectors' online cases hold this file to them.
//
// Every online call that answers a signed document (check, activate,
// deactivate) sends a fresh random nonce, which the server signs into the
// document. Once the signature verifies and the document names this
// installation's hardware and data path, the answer is taken only if, in this
// order: it carries exactly the nonce sent (a saved genuine answer replayed by
// a fake server carries another or none); it names the installation that asked
// (or the one whose new credential it carries); and, when the client holds a
// verified document of that installation, the same machine.

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// Why an answer is refused: the first rule it fails.
const (
	refusalInvalidDocument   = "invalid_document"
	refusalNonceMismatch     = "nonce_mismatch"
	refusalOtherInstallation = "other_installation"
	refusalOtherMachine      = "other_machine"
)

// newNonce: 16 random bytes from the OS, unpadded base64url.
func newNonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// isToken: a credential part or token as the server makes them: short printable ASCII.
func isToken(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) == 0 || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// asked is what one online request asked: its nonce and the installation it spoke for.
type asked struct {
	nonce  string
	device string // whose credential the request carried; "" at first contact
	known  any    // the installation's last signed document, unverified; nil when none
}

// machine of the installation's last verified document (an installation never changes machine).
func (a asked) machine(keys pinnedKeys, product string) string {
	if a.device == "" || a.known == nil {
		return ""
	}
	known, err := verifyDocument(a.known, keys, product, time.Time{})
	if err != nil {
		return "" // a kept document that does not verify is no evidence either way
	}
	if d, _ := known["device"].(string); d != a.device {
		return ""
	}
	m, _ := known["machine"].(string)
	return m
}

// answerVerdict: what the client does with a server's answer.
type answerVerdict struct {
	accepted    bool
	refusal     string
	message     string
	signed      map[string]any // the signed document exactly as received (now verified)
	credential  *[2]string     // a new credential for the device the document names
	token       string         // the new rotating token ("": suspected copy, keep the old one)
	clockOffset int64
	status      Status
	payload     map[string]any
}

func refused(why, detail string) answerVerdict {
	return answerVerdict{refusal: why, message: detail + " (" + why + ")"}
}

// judgeAnswer judges a server's answer to the request a, received at local
// time receivedAt. Pure: nothing is stored.
func judgeAnswer(answer any, a asked, keys pinnedKeys, product string, fp Fingerprint, receivedAt time.Time) answerVerdict {
	obj, _ := answer.(map[string]any)
	signed, ok := obj["signed"].(map[string]any)
	if !ok {
		return refused(refusalInvalidDocument, "the server's answer carries no signed document")
	}
	// No issue-time check here: a bound answer's time is the server's, whatever the local clock says.
	payload, err := verifyForInstallation(signed, keys, product, &fp, time.Time{})
	if err != nil {
		return refused(refusalInvalidDocument, "the server's answer does not verify: "+err.Error())
	}
	issued, err := parseISO(pyStr(payload["issued_at"]))
	if err != nil {
		return refused(refusalInvalidDocument, "the server's answer does not verify: document has no valid issue time")
	}
	named, _ := payload["device"].(string)
	credential := credentialOf(obj["credential"], named)
	credentialDevice := ""
	if credential != nil {
		credentialDevice = credential[0]
	}
	if why := a.refusal(payload, credentialDevice, keys, product); why != "" {
		return refused(why, "the server's answer is not the answer to this request")
	}
	token := ""
	if isToken(payload["token"]) {
		token = payload["token"].(string)
	}
	return answerVerdict{
		accepted: true, signed: signed, credential: credential, token: token,
		clockOffset: clockOffset(issued, receivedAt),
		status:      statusOf(payload, issued, true),
		payload:     payload,
	}
}

// refusal says why a verified payload is not the answer to this request ("": it is).
// credentialDevice is the device of a new credential the answer carries, if any.
func (a asked) refusal(payload map[string]any, credentialDevice string, keys pinnedKeys, product string) string {
	if nonce, ok := payload["nonce"].(string); !ok || nonce != a.nonce {
		return refusalNonceMismatch
	}
	expected := a.device
	if credentialDevice != "" {
		expected = credentialDevice
	}
	named, ok := payload["device"].(string)
	if expected == "" || !ok || named != expected {
		return refusalOtherInstallation
	}
	if m := a.machine(keys, product); m != "" && named == a.device {
		if pm, ok := payload["machine"].(string); !ok || pm != m {
			return refusalOtherMachine
		}
	}
	return ""
}

// credentialOf: the credential an answer carries, if it is for the device its verified document
// names and both parts are tokens. The credential is outside the signature: only the server can
// tell a genuine one, so a bad one costs a refused call, never a grant.
func credentialOf(offered any, documentDevice string) *[2]string {
	obj, _ := offered.(map[string]any)
	device, secret := obj["device"], obj["secret"]
	if !isToken(device) || !isToken(secret) || device != documentDevice {
		return nil
	}
	return &[2]string{device.(string), secret.(string)}
}
