package licentia

// Signed status documents: Ed25519 over canonical JSON, one key pair per
// product. A signed document is {"document": {...}, "kid", "sig",
// "endorsements": [...]}; sig covers the canonical JSON of document and
// nothing else. The application pins the product's public key; after a key
// rotation each new key is endorsed (signed) by the one before it, and
// documents carry the chain. Verification returns an error, never a boolean
// a caller could forget to test. Same rules as licentia.core.signing.

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

const publicKeyScheme = "ed25519"

// maxClockSkew: how far a document's issue time may lie in the verifier's
// future (forged, or the clock wound back).
const maxClockSkew = 10 * time.Minute

const maxEndorsements = 32

// errInvalidDocument: verification failed; deliberately without detail worth exploiting.
type documentError string

func (e documentError) Error() string { return string(e) }

func invalidDocument(why string) error { return documentError(why) }

// pinnedKeys maps key ids to keys.
type pinnedKeys map[string]ed25519.PublicKey

// base64URLDecode: strict unpadded base64url; anything else is not one of ours.
func base64URLDecode(text string) ([]byte, error) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, invalidDocument("malformed base64")
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil {
		// Python and Node ignore non-zero trailing bits; so does this.
		raw, err = base64.RawURLEncoding.DecodeString(text)
		if err != nil {
			return nil, invalidDocument("malformed base64")
		}
	}
	return raw, nil
}

func keyID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])[:16]
}

// loadPublicKey parses "ed25519:<kid>:<base64url raw key>"; the key id is recomputed, never trusted.
func loadPublicKey(text string) (string, ed25519.PublicKey, error) {
	bad := newError(ErrConfiguration, "not a Licentia public key (expected 'ed25519:<kid>:<key>')")
	parts := strings.Split(strings.TrimSpace(text), ":")
	if len(parts) != 3 || parts[0] != publicKeyScheme {
		return "", nil, bad
	}
	raw, err := base64URLDecode(parts[2])
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return "", nil, bad
	}
	if keyID(raw) != parts[1] {
		return "", nil, newError(ErrConfiguration, "the public key's id does not match the key")
	}
	return parts[1], ed25519.PublicKey(raw), nil
}

// pinKeys pins one key, or several during a rotation.
func pinKeys(texts []string) (pinnedKeys, error) {
	keys := pinnedKeys{}
	for _, text := range texts {
		kid, key, err := loadPublicKey(text)
		if err != nil {
			return nil, err
		}
		keys[kid] = key
	}
	if len(keys) == 0 {
		return nil, newError(ErrConfiguration, "pin at least one public key")
	}
	return keys, nil
}

func verifies(key ed25519.PublicKey, signature, message []byte) bool {
	return len(signature) == ed25519.SignatureSize && ed25519.Verify(key, message, signature)
}

// truthy is Python's truth of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case json.Number:
		n, err := x.Int64()
		return err != nil || n != 0
	}
	return true
}

func trustedKeys(pinned pinnedKeys, endorsements any, product string) (pinnedKeys, error) {
	keys := pinnedKeys{}
	for k, v := range pinned {
		keys[k] = v
	}
	if !truthy(endorsements) {
		return keys, nil
	}
	list, ok := endorsements.([]any)
	if !ok || len(list) > maxEndorsements {
		return nil, invalidDocument("malformed endorsements")
	}
	// Endorsements may arrive in any order; keep passing until no new key is learnt.
	pending := append([]any(nil), list...)
	for progress := true; len(pending) > 0 && progress; {
		progress = false
		var rest []any
		for _, item := range pending {
			e, ok := item.(map[string]any)
			by, _ := e["by"].(string)
			if !ok || keys[by] == nil {
				rest = append(rest, item)
				continue
			}
			publicKey, ok1 := e["public_key"].(string)
			sig, ok2 := e["sig"].(string)
			if !ok1 || !ok2 {
				continue
			}
			kid, key, err := loadPublicKey(publicKey)
			if err != nil {
				continue
			}
			signature, err := base64URLDecode(sig)
			if err != nil {
				continue
			}
			claim, _ := canonicalJSON(map[string]any{"kid": kid, "public_key": publicKey, "product": product})
			if !verifies(keys[by], signature, claim) {
				continue
			}
			if claimed, _ := e["kid"].(string); claimed == kid {
				if keys[kid] == nil {
					keys[kid] = key
				}
				progress = true
			}
		}
		pending = rest
	}
	return keys, nil
}

// verifyDocument verifies a signed document (parsed JSON) and returns its
// payload. The payload must name product; with at non-zero, a document
// issued more than ten minutes after at is refused.
func verifyDocument(unverifiedSigned any, pinned pinnedKeys, product string, at time.Time) (map[string]any, error) {
	signed, ok := unverifiedSigned.(map[string]any)
	if !ok {
		return nil, invalidDocument("malformed document")
	}
	unverifiedPayload, ok1 := signed["document"].(map[string]any)
	kid, ok2 := signed["kid"].(string)
	sig, ok3 := signed["sig"].(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, invalidDocument("malformed document")
	}
	signature, err := base64URLDecode(sig)
	if err != nil {
		return nil, err
	}
	keys, err := trustedKeys(pinned, signed["endorsements"], product)
	if err != nil {
		return nil, err
	}
	key := keys[kid]
	if key == nil {
		return nil, invalidDocument("document signed by an unknown key")
	}
	body, err := canonicalJSON(unverifiedPayload)
	if err != nil || !verifies(key, signature, body) {
		return nil, invalidDocument("bad signature")
	}
	payload := unverifiedPayload
	if p, _ := payload["product"].(string); p != product {
		return nil, invalidDocument("document is for another product")
	}
	if !at.IsZero() {
		issued, err := parseISO(pyStr(payload["issued_at"]))
		if err != nil {
			return nil, invalidDocument("document has no valid issue time")
		}
		if issued.Sub(at) > maxClockSkew {
			return nil, invalidDocument("document issued in the future")
		}
	}
	return payload, nil
}

// verifyDocumentText parses then verifies.
func verifyDocumentText(text []byte, pinned pinnedKeys, product string, at time.Time) (map[string]any, error) {
	value, err := parseJSON(text)
	if err != nil {
		return nil, invalidDocument("malformed document")
	}
	return verifyDocument(value, pinned, product, at)
}

// pyStr is str() as the Python core applies it to a payload field before parsing it.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return string(x)
	}
	return ""
}

func isDocumentError(err error) bool {
	var d documentError
	return errors.As(err, &d)
}
