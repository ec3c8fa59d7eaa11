package licentia

// Air-gapped activation: a machine that never reaches the server writes an
// activation request, the vendor turns it into a response, and the machine
// installs it; to give the seat back it writes a deactivation proof. Same
// files as the Python SDK (licentia.client.offline_activation and
// licentia.core.airgap): armored base64url of canonical JSON.
//
// The request carries two fresh public keys of this installation: an X25519
// one, to which the vendor seals the installation's credential, and an
// Ed25519 one, which signs the request now and the proof later. Their private
// halves stay in <dataDir>/offline.json (0600). A response is installed only
// if it answers a request this installation made, its status document
// verifies with the pinned key and names this machine's hardware read now,
// and its credential opens with the private key kept.
//
// The sealed credential is X25519, HKDF-SHA256 and ChaCha20-Poly1305. The
// standard library has Ed25519 and SHA-256 (HKDF is written here on crypto/hmac),
// but neither X25519 before Go 1.20 (crypto/ecdh) nor ChaCha20-Poly1305 at
// all: those two come from golang.org/x/crypto, the module's one dependency.

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
)

const (
	offlineFileName = "offline.json"
	offlineFormat   = 1
	maxPending      = 8
	maxOfflineBytes = 64 * 1024
	armorLine       = 64
	kindRequest     = "ACTIVATION REQUEST"
	kindResponse    = "ACTIVATION RESPONSE"
	kindProof       = "DEACTIVATION PROOF"
	sealInfo        = "licentia offline credential v1"
)

var armorPattern = regexp.MustCompile(`(?s)-----BEGIN LICENTIA ([A-Z ]+)-----\s*(.*?)\s*-----END LICENTIA ([A-Z ]+)-----`)

func b64e(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// b64d reads base64url as the core does: padding optional, standard alphabet taken too.
func b64d(v any) ([]byte, bool) {
	text, ok := v.(string)
	if !ok {
		return nil, false
	}
	text = strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(text, "="))
	raw, err := base64.RawURLEncoding.DecodeString(text)
	return raw, err == nil
}

func armor(kind string, body map[string]any) (string, error) {
	raw, err := canonicalJSON(body)
	if err != nil {
		return "", err
	}
	encoded := b64e(raw)
	lines := []string{"-----BEGIN LICENTIA " + kind + "-----"}
	for i := 0; i < len(encoded); i += armorLine {
		end := i + armorLine
		if end > len(encoded) {
			end = len(encoded)
		}
		lines = append(lines, encoded[i:end])
	}
	return strings.Join(append(lines, "-----END LICENTIA "+kind+"-----", ""), "\n"), nil
}

func unarmor(kind, text string) (map[string]any, error) {
	bad := func(why string) error { return newError(ErrInvalidAnswer, "not an activation response: %s", why) }
	if len(text) == 0 || len(text) > maxOfflineBytes {
		return nil, bad("empty or too large")
	}
	m := armorPattern.FindStringSubmatch(text)
	if m == nil || m[1] != m[3] {
		return nil, bad("no BEGIN/END lines")
	}
	if m[1] != kind {
		return nil, bad("this is a " + strings.ToLower(m[1]) + ", not a " + strings.ToLower(kind))
	}
	raw, ok := b64d(strings.Join(strings.Fields(m[2]), ""))
	if !ok {
		return nil, bad("the file is damaged")
	}
	value, err := parseJSON(raw)
	body, isObj := value.(map[string]any)
	if err != nil || !isObj {
		return nil, bad("the file is damaged (not a JSON object inside)")
	}
	return body, nil
}

// hkdfSHA256 derives 32 bytes (RFC 5869, one block).
func hkdfSHA256(secret, salt []byte, info string) []byte {
	extract := hmac.New(sha256.New, salt)
	extract.Write(secret)
	expand := hmac.New(sha256.New, extract.Sum(nil))
	expand.Write([]byte(info))
	expand.Write([]byte{1})
	return expand.Sum(nil)
}

// unseal opens what the vendor sealed to this machine's X25519 key; context (the request nonce) is authenticated too.
func unseal(sealed any, private []byte, context []byte) ([]byte, bool) {
	obj, _ := sealed.(map[string]any)
	epk, ok1 := b64d(obj["epk"])
	nonce, ok2 := b64d(obj["nonce"])
	ct, ok3 := b64d(obj["ct"])
	if !ok1 || !ok2 || !ok3 || len(epk) != 32 || len(nonce) != chacha20poly1305.NonceSize {
		return nil, false
	}
	shared, err := curve25519.X25519(private, epk)
	if err != nil {
		return nil, false
	}
	public, err := curve25519.X25519(private, curve25519.Basepoint)
	if err != nil {
		return nil, false
	}
	aead, err := chacha20poly1305.New(hkdfSHA256(shared, append(append([]byte{}, epk...), public...), sealInfo))
	if err != nil {
		return nil, false
	}
	plain, err := aead.Open(nil, nonce, ct, context)
	return plain, err == nil
}

type offlineKeys struct {
	Format     int              `json:"format"`
	Pending    []map[string]any `json:"pending"`
	Activation map[string]any   `json:"activation"`
	Proof      *string          `json:"proof"`
}

func (c *Client) loadOffline() offlineKeys {
	empty := offlineKeys{Format: offlineFormat, Pending: []map[string]any{}}
	raw, _, ok := readSmall(filepath.Join(c.dataDir, offlineFileName), maxOfflineBytes)
	if !ok {
		return empty
	}
	var found offlineKeys
	if json.Unmarshal(raw, &found) != nil || found.Format != offlineFormat {
		return empty
	}
	if found.Pending == nil {
		found.Pending = []map[string]any{}
	}
	return found
}

func (c *Client) saveOffline(keys offlineKeys) error {
	data, err := json.Marshal(keys)
	if err == nil {
		err = writeFileAtomic(filepath.Join(c.dataDir, offlineFileName), data)
	}
	if err != nil {
		return wrapError(ErrConfiguration, err, "cannot write the offline activation keys in %s", c.dataDir)
	}
	return nil
}

func newOfflineNonce() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b64e(b)
}

// ActivationRequest is step 1: the text of a request for license key, to
// carry to the vendor (a typo is ErrInvalidKey). No network call.
func (c *Client) ActivationRequest(key string) (string, error) {
	normalized, err := NormalizeKey(key)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	box := make([]byte, 32)
	if _, err := rand.Read(box); err != nil {
		return "", wrapError(ErrConfiguration, err, "no randomness")
	}
	_, proof, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", wrapError(ErrConfiguration, err, "no key")
	}
	r := activationRequest{
		product: c.product, key: normalized, fingerprint: c.Fingerprint().request(),
		nonce: newOfflineNonce(), createdAt: toISO(c.clock.Now()), box: box, proof: proof.Seed(),
		appVersion: nullable(c.appVersion), os: osDescription(),
	}
	text, err := r.text()
	if err != nil {
		return "", err
	}
	keys := c.loadOffline()
	keys.Pending = append(keys.Pending, map[string]any{"nonce": r.nonce, "box": b64e(box), "proof": b64e(r.proof), "created_at": r.createdAt})
	if len(keys.Pending) > maxPending {
		keys.Pending = keys.Pending[len(keys.Pending)-maxPending:]
	}
	if err := c.saveOffline(keys); err != nil {
		return "", err
	}
	return text, nil
}

// activationRequest is what a request file says; box and proof are the machine's new
// X25519 and Ed25519 private keys (32 bytes each).
type activationRequest struct {
	product, key, nonce, createdAt, os string
	fingerprint                        map[string]any
	box, proof                         []byte
	appVersion                         any // a string, or nil
}

// text is the request file, byte for byte as every SDK writes it.
func (r activationRequest) text() (string, error) {
	boxPublic, err := curve25519.X25519(r.box, curve25519.Basepoint)
	if err != nil || len(r.proof) != ed25519.SeedSize {
		return "", newError(ErrConfiguration, "damaged machine key")
	}
	proof := ed25519.NewKeyFromSeed(r.proof)
	claim := map[string]any{
		"v": offlineFormat, "kind": "activation_request", "product": r.product, "key": r.key,
		"fingerprint": r.fingerprint, "nonce": r.nonce, "created_at": r.createdAt,
		"box_key": b64e(boxPublic), "proof_key": b64e(proof.Public().(ed25519.PublicKey)),
		"app_version": r.appVersion, "os": r.os,
	}
	return signedClaim(kindRequest, claim, proof)
}

func signedClaim(kind string, claim map[string]any, key ed25519.PrivateKey) (string, error) {
	body, err := canonicalJSON(claim)
	if err != nil {
		return "", wrapError(ErrConfiguration, err, "cannot write the claim")
	}
	text, err := armor(kind, map[string]any{"claim": claim, "sig": b64e(ed25519.Sign(key, body))})
	if err != nil {
		return "", wrapError(ErrConfiguration, err, "cannot write the claim")
	}
	return text, nil
}

// Why a response is not installed: the first rule it fails (the conformance vectors' refusals).
const (
	refusalNotAResponse    = "not_a_response"
	refusalUnknownVersion  = "unknown_version"
	refusalOtherProduct    = "other_product"
	refusalUnknownRequest  = "unknown_request"
	refusalOtherRequest    = "other_request"
	refusalSealedElsewhere = "sealed_elsewhere"
)

// pendingRequest is a request written here and not yet answered: its nonce and X25519 private key.
type pendingRequest struct {
	nonce string
	box   []byte
}

// openedResponse is an accepted response: the verified document, the credential it sealed, the activation id.
type openedResponse struct {
	signed, payload map[string]any
	credential      [2]string
	activation      string
	nonce           string
}

// openResponse accepts a response only in this order: armored as a response (else
// not_a_response), version 1, this product, the answer to a pending request, a document
// that verifies for this installation at the time at, answering that request, a credential
// that opens with that request's key and names the document's device.
func openResponse(text string, product string, keys pinnedKeys, fp Fingerprint, pending []pendingRequest, at time.Time) (openedResponse, string, string) {
	refuse := func(why, detail string) (openedResponse, string, string) { return openedResponse{}, why, detail }
	unverified, err := unarmor(kindResponse, text)
	if err != nil {
		return refuse(refusalNotAResponse, err.Error())
	}
	if v, _ := unverified["v"].(json.Number); v != "1" {
		return refuse(refusalUnknownVersion, "this activation response is damaged or of an unknown version")
	}
	if unverified["product"] != product {
		return refuse(refusalOtherProduct, "this activation response is for another product")
	}
	nonce, _ := unverified["request"].(string)
	var request *pendingRequest
	for i := range pending {
		if nonce != "" && pending[i].nonce == nonce {
			request = &pending[i]
			break
		}
	}
	if request == nil {
		return refuse(refusalUnknownRequest, "this activation response answers a request this installation did not write")
	}
	signed, ok := unverified["signed"].(map[string]any)
	if !ok {
		return refuse(refusalInvalidDocument, "the activation response carries no signed document")
	}
	// The hardware is read now: a response carried to another machine names other components.
	payload, err := verifyForInstallation(signed, keys, product, &fp, at)
	if err != nil {
		return refuse(refusalInvalidDocument, "the activation response does not verify for this machine: "+err.Error())
	}
	offline, _ := payload["offline"].(map[string]any)
	if offline == nil || offline["request"] != nonce || !isToken(offline["activation"]) {
		return refuse(refusalOtherRequest, "the signed document answers another request")
	}
	plain, ok := unseal(unverified["sealed"], request.box, []byte(nonce))
	if !ok {
		return refuse(refusalSealedElsewhere, "the activation response's credential does not open here")
	}
	opened, _ := parseJSON(plain)
	fields, _ := opened.(map[string]any)
	device, secret := fields["device"], fields["secret"]
	if device != payload["device"] || !isToken(device) || !isToken(secret) {
		return refuse(refusalOtherInstallation, "the activation response's credential names another installation")
	}
	return openedResponse{
		signed: signed, payload: payload, credential: [2]string{device.(string), secret.(string)},
		activation: offline["activation"].(string), nonce: nonce,
	}, "", ""
}

// InstallActivation is step 3: install the vendor's response to one of this
// installation's requests (anything else is ErrInvalidAnswer). Check then
// answers from it offline until its lease ends.
func (c *Client) InstallActivation(response string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	keys := c.loadOffline()
	var pending []pendingRequest
	for _, p := range keys.Pending {
		nonce, _ := p["nonce"].(string)
		box, ok := b64d(p["box"])
		if nonce != "" && ok && len(box) == 32 {
			pending = append(pending, pendingRequest{nonce: nonce, box: box})
		}
	}
	previous := c.state.load()
	at := serverTime(now, previous.clockOffset) // the local clock, set right by the last online answer if any
	opened, why, detail := openResponse(response, c.product, c.keys, c.Fingerprint(), pending, at)
	if why != "" {
		return Status{}, newError(ErrInvalidAnswer, "%s (%s)", detail, why)
	}
	s := state{
		signed: opened.signed, credential: &opened.credential,
		lastSeen: toISO(now), factsOptOut: previous.factsOptOut, clockOffset: previous.clockOffset,
	}
	if isToken(opened.payload["token"]) {
		s.token = opened.payload["token"].(string)
	}
	var proof any
	kept := keys.Pending[:0]
	for _, p := range keys.Pending {
		if p["nonce"] == opened.nonce {
			proof = p["proof"]
		} else {
			kept = append(kept, p)
		}
	}
	keys.Pending = kept
	keys.Activation = map[string]any{"id": opened.activation, "device": opened.credential[0], "proof": proof}
	keys.Proof = nil
	if err := c.saveOffline(keys); err != nil {
		return Status{}, err
	}
	if err := c.save(&s); err != nil {
		return Status{}, err
	}
	return statusOf(opened.payload, at, false), nil
}

// DeactivateOffline ends the air-gapped activation here and returns the proof
// the vendor uploads to free the seat. The local activation is removed before
// the proof is returned, and the proof is kept: calling again (the first file
// was lost) gives the same proof.
func (c *Client) DeactivateOffline() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := c.loadOffline()
	if keys.Activation == nil {
		if keys.Proof != nil && *keys.Proof != "" {
			return *keys.Proof, nil
		}
		return "", newError(ErrConfiguration, "this installation holds no offline activation to deactivate")
	}
	seed, ok := b64d(keys.Activation["proof"])
	if !ok || len(seed) != ed25519.SeedSize {
		return "", newError(ErrConfiguration, "the offline activation keys are damaged: deactivate online instead")
	}
	claim := map[string]any{
		"v": offlineFormat, "kind": "deactivation_proof", "product": c.product,
		"activation": keys.Activation["id"], "device": keys.Activation["device"],
		"nonce": newOfflineNonce(), "created_at": toISO(c.clock.Now()),
	}
	proof, err := signedClaim(kindProof, claim, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return "", err
	}
	keys.Activation, keys.Proof = nil, &proof
	if err := c.saveOffline(keys); err != nil {
		return "", err
	}
	s := c.state.load()
	if s.signed != nil && s.credential != nil {
		s.signed = nil // the license document goes: offline, this installation holds nothing now
		if err := c.save(&s); err != nil {
			return "", err
		}
	}
	return proof, nil
}
