package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.XECPrivateKey;
import java.security.interfaces.XECPublicKey;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Air-gapped activation for a machine with no network, in three steps: {@link #activationRequest}
 * writes a request file's text for a license key; the vendor turns it into a response (admin UI,
 * developer API, CLI or portal); {@link #installActivation} accepts the response only if it answers
 * a request this installation wrote, its status document verifies with the pinned key and names
 * this machine's hardware read now, and its credential opens with the private key kept in step one.
 * {@link #deactivateOffline} ends it and returns the proof that frees the seat.
 *
 * <p>Same files as the Python SDK ({@code offline_activation.py}, {@code core/airgap.py}): Ed25519
 * for the request and proof, X25519 + HKDF-SHA256 + ChaCha20-Poly1305 for the sealed credential,
 * all from the JDK. {@code <dataDir>/offline.json} is created 0600 and holds the private halves, as
 * {@code state.json} holds the device secret. Thread-safe (runs under the client's lock).
 */
public final class AirGapped {
    static final String FILE = "offline.json";
    private static final int FORMAT = 1;
    private static final int MAX_PENDING = 8;
    private static final int MAX_BYTES = 64 * 1024;
    private static final String REQUEST = "ACTIVATION REQUEST";
    private static final String RESPONSE = "ACTIVATION RESPONSE";
    private static final String PROOF = "DEACTIVATION PROOF";
    private static final Pattern ARMOR = Pattern.compile(
            "-----BEGIN LICENTIA ([A-Z ]+)-----\\s*(.*?)\\s*-----END LICENTIA \\1-----", Pattern.DOTALL);
    private static final byte[] SEAL_INFO = "licentia offline credential v1".getBytes(StandardCharsets.US_ASCII);

    private final Licentia lic;

    AirGapped(Licentia lic) {
        this.lic = lic;
    }

    /** Step 1: the text of a request for license {@code key}, to carry to the vendor (a typo throws before anything is written). */
    public String activationRequest(String key) {
        String normalized = LicenseKeys.normalize(key);
        return lic.locked(() -> {
            KeyPair box = generate("X25519");
            KeyPair proof = generate("Ed25519");
            String nonce = newNonce();
            String now = Times.toIso(lic.now());
            ObjectNode claim = Json.object();
            claim.put("v", FORMAT);
            claim.put("kind", "activation_request");
            claim.put("product", lic.product);
            claim.put("key", normalized);
            claim.set("fingerprint", lic.fingerprint().toRequest());
            claim.put("nonce", nonce);
            claim.put("created_at", now);
            claim.put("box_key", b64e(rawX25519Public((XECPublicKey) box.getPublic())));
            claim.put("proof_key", b64e(Signing.rawPublicKey(proof.getPublic())));
            claim.put("app_version", lic.appVersion);
            claim.put("os", Facts.osDescription());
            ObjectNode keys = load();
            ObjectNode entry = Json.object();
            entry.put("nonce", nonce);
            entry.put("box", b64e(((XECPrivateKey) box.getPrivate()).getScalar().orElseThrow()));
            entry.put("proof", b64e(((EdECPrivateKey) proof.getPrivate()).getBytes().orElseThrow()));
            entry.put("created_at", now);
            ArrayNode pending = (ArrayNode) keys.get("pending");
            pending.add(entry);
            while (pending.size() > MAX_PENDING) pending.remove(0);
            save(keys);
            return signedClaim(REQUEST, claim, proof.getPrivate());
        });
    }

    /** Step 3: install the vendor's response to one of this installation's requests; anything else is {@link InvalidAnswerException}. */
    public Status installActivation(String response) {
        return lic.locked(() -> {
            Instant now = lic.now();
            ObjectNode unverified = unarmor(RESPONSE, response);
            String nonce = Json.text(unverified, "request");
            Long v = Json.integer(unverified, "v");
            if (v == null || v != FORMAT) throw new InvalidAnswerException("this activation response is damaged or of an unknown version");
            if (!lic.product.equals(Json.text(unverified, "product"))) {
                throw new InvalidAnswerException("this activation response is for another product");
            }
            ObjectNode keys = load();
            ObjectNode pending = null;
            int index = -1;
            for (int i = 0; i < keys.get("pending").size(); i++) {
                JsonNode p = keys.get("pending").get(i);
                if (nonce != null && nonce.equals(Json.text(p, "nonce"))) {
                    pending = (ObjectNode) p;
                    index = i;
                }
            }
            if (pending == null) throw new InvalidAnswerException("this activation response answers a request this installation did not write");
            ObjectNode signed = Json.obj(unverified, "signed");
            if (signed == null) throw new InvalidAnswerException("the activation response carries no signed document");
            State previous = lic.stateFile.load();
            Instant at = Times.serverTime(now, previous.clockOffset);
            ObjectNode payload;
            try {
                // The hardware is read now: a response carried to another machine names other components.
                payload = Documents.verifyForInstallation(signed, lic.keys, lic.product, lic.fingerprint().presented(), at);
            } catch (InvalidDocument e) {
                throw new InvalidAnswerException("the activation response does not verify for this machine: " + e.getMessage());
            }
            ObjectNode offline = Json.obj(payload, "offline");
            if (offline == null || !nonce.equals(Json.text(offline, "request")) || !Answers.isToken(offline.get("activation"))) {
                throw new InvalidAnswerException("the signed document answers another request");
            }
            JsonNode opened;
            try {
                byte[] plain = unseal(Json.obj(unverified, "sealed"), Json.text(pending, "box"), nonce.getBytes(StandardCharsets.UTF_8));
                opened = Json.parse(plain);
            } catch (GeneralSecurityException | Json.JsonException | RuntimeException e) {
                throw new InvalidAnswerException("the activation response's credential does not open here");
            }
            String device = Json.text(opened, "device");
            String secret = Json.text(opened, "secret");
            if (device == null || !device.equals(Json.text(payload, "device")) || !Answers.isToken(device) || !Answers.isToken(secret)) {
                throw new InvalidAnswerException("the activation response's credential names another installation");
            }
            State state = new State();
            state.signed = signed;
            state.credential = new Answers.Credential(device, secret);
            String token = Json.text(payload, "token");
            state.token = Answers.isToken(token) ? token : null;
            state.lastSeen = Times.toIso(now);
            state.factsOptOut = previous.factsOptOut;
            state.clockOffset = previous.clockOffset;
            ((ArrayNode) keys.get("pending")).remove(index);
            ObjectNode activation = keys.putObject("activation");
            activation.put("id", Json.text(offline, "activation"));
            activation.put("device", device);
            activation.put("proof", Json.text(pending, "proof"));
            keys.putNull("proof");
            save(keys);
            lic.save(state);
            return Documents.statusOf(payload, at, false);
        });
    }

    /**
     * End this installation's offline activation and return the proof that frees its seat. The local
     * activation is removed before the proof is returned, and the proof is kept, so calling again (the
     * first file was lost) gives the same proof.
     */
    public String deactivateOffline() {
        return lic.locked(() -> {
            ObjectNode keys = load();
            JsonNode activation = keys.get("activation");
            if (activation == null || !activation.isObject()) {
                String kept = Json.text(keys, "proof");
                if (kept != null && !kept.isEmpty()) return kept;
                throw new ConfigurationException("this installation holds no offline activation to deactivate");
            }
            PrivateKey signer;
            try {
                signer = KeyFactory.getInstance("Ed25519").generatePrivate(
                        new EdECPrivateKeySpec(NamedParameterSpec.ED25519, b64d(Json.text(activation, "proof"))));
            } catch (GeneralSecurityException | RuntimeException e) {
                throw new ConfigurationException("the offline activation keys are damaged: deactivate online instead");
            }
            ObjectNode claim = Json.object();
            claim.put("v", FORMAT);
            claim.put("kind", "deactivation_proof");
            claim.put("product", lic.product);
            claim.set("activation", activation.get("id"));
            claim.set("device", activation.get("device"));
            claim.put("nonce", newNonce());
            claim.put("created_at", Times.toIso(lic.now()));
            String proof = signedClaim(PROOF, claim, signer);
            keys.putNull("activation");
            keys.put("proof", proof);
            save(keys);
            State state = lic.stateFile.load();
            if (state.signed != null && state.credential != null) {
                state.signed = null; // the license document goes: offline, this installation holds nothing now
                lic.save(state);
            }
            return proof;
        });
    }

    // -- the file ---------------------------------------------------------------------------------

    private ObjectNode load() {
        ObjectNode empty = Json.object();
        empty.put("format", FORMAT);
        empty.putArray("pending");
        empty.putNull("activation");
        empty.putNull("proof");
        byte[] raw = AtomicFiles.readSmall(lic.dataDir.resolve(FILE), MAX_BYTES);
        JsonNode found;
        try {
            found = raw == null ? null : Json.parse(raw);
        } catch (Json.JsonException e) {
            found = null;
        }
        Long format = Json.integer(found, "format");
        if (format == null || format != FORMAT) return empty; // damaged: it only ever restricts what installs
        if (found.get("pending") != null && found.get("pending").isArray()) {
            for (JsonNode p : found.get("pending")) if (p.isObject()) ((ArrayNode) empty.get("pending")).add(p);
        }
        if (found.get("activation") != null && found.get("activation").isObject()) empty.set("activation", found.get("activation"));
        if (Json.text(found, "proof") != null) empty.put("proof", Json.text(found, "proof"));
        return empty;
    }

    private void save(ObjectNode keys) {
        try {
            AtomicFiles.write(lic.dataDir.resolve(FILE), Json.write(keys));
        } catch (IOException e) {
            throw new ConfigurationException("cannot write the offline activation keys in " + lic.dataDir + ": " + AtomicFiles.describe(e), e);
        }
    }

    // -- the crypto and the armor -------------------------------------------------------------------

    static String b64e(byte[] raw) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    }

    static byte[] b64d(String text) {
        if (text == null) throw new IllegalArgumentException("base64url text expected");
        String cleaned = text.replace('+', '-').replace('/', '_').replace("=", "");
        return Base64.getUrlDecoder().decode(cleaned);
    }

    private static String newNonce() {
        byte[] raw = new byte[32];
        new java.security.SecureRandom().nextBytes(raw);
        return b64e(raw);
    }

    private static KeyPair generate(String algorithm) {
        try {
            return KeyPairGenerator.getInstance(algorithm).generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new ConfigurationException("this Java has no " + algorithm + ": " + e.getMessage());
        }
    }

    static byte[] rawX25519Public(XECPublicKey key) {
        byte[] be = key.getU().toByteArray();
        byte[] le = new byte[32];
        for (int i = 0; i < be.length && i < 32; i++) le[i] = be[be.length - 1 - i];
        return le;
    }

    static PublicKey x25519Public(byte[] raw) throws GeneralSecurityException {
        if (raw.length != 32) throw new GeneralSecurityException("not an X25519 key");
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) be[i] = raw[31 - i];
        be[0] &= 0x7f; // RFC 7748: the top bit is ignored
        return KeyFactory.getInstance("X25519").generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, new BigInteger(1, be)));
    }

    private static String armor(String kind, ObjectNode body) {
        String encoded;
        try {
            encoded = b64e(Canonical.bytes(body));
        } catch (Json.JsonException e) {
            throw new ConfigurationException("cannot write the file: " + e.getMessage());
        }
        StringBuilder out = new StringBuilder("-----BEGIN LICENTIA ").append(kind).append("-----\n");
        for (int i = 0; i < encoded.length(); i += 64) out.append(encoded, i, Math.min(encoded.length(), i + 64)).append('\n');
        return out.append("-----END LICENTIA ").append(kind).append("-----\n").toString();
    }

    private static String signedClaim(String kind, ObjectNode claim, PrivateKey key) {
        try {
            Signature signer = Signature.getInstance("Ed25519");
            signer.initSign(key);
            signer.update(Canonical.bytes(claim));
            ObjectNode body = Json.object();
            body.set("claim", claim);
            body.put("sig", b64e(signer.sign()));
            return armor(kind, body);
        } catch (GeneralSecurityException | Json.JsonException e) {
            throw new ConfigurationException("cannot sign the file: " + e.getMessage());
        }
    }

    private static ObjectNode unarmor(String kind, String text) {
        if (text == null || text.isEmpty() || text.length() > MAX_BYTES) {
            throw new InvalidAnswerException("not an activation response (empty or too large)");
        }
        Matcher m = ARMOR.matcher(text);
        if (!m.find()) throw new InvalidAnswerException("not an activation response (no BEGIN/END lines)");
        if (!m.group(1).equals(kind)) throw new InvalidAnswerException("this is a " + m.group(1).toLowerCase() + ", not an activation response");
        try {
            JsonNode body = Json.parse(b64d(m.group(2).replaceAll("\\s", "")));
            if (!(body instanceof ObjectNode o)) throw new InvalidAnswerException("the file is damaged (not an object inside)");
            return o;
        } catch (Json.JsonException | IllegalArgumentException e) {
            throw new InvalidAnswerException("the file is damaged (not JSON inside)");
        }
    }

    private static byte[] hkdf(byte[] ikm, byte[] salt, byte[] info) {
        byte[] prk = Fingerprints.hmacSha256(salt, ikm);
        byte[] message = new byte[info.length + 1];
        System.arraycopy(info, 0, message, 0, info.length);
        message[info.length] = 1;
        return Fingerprints.hmacSha256(prk, message); // 32 bytes: one block
    }

    /** Open what the server sealed to this machine's X25519 key; {@code context} (the request nonce) is authenticated too. */
    static byte[] unseal(JsonNode sealed, String privateText, byte[] context) throws GeneralSecurityException {
        if (sealed == null) throw new GeneralSecurityException("the response carries no sealed credential");
        byte[] epk = b64d(Json.text(sealed, "epk"));
        PrivateKey mine = KeyFactory.getInstance("X25519").generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, b64d(privateText)));
        KeyAgreement agreement = KeyAgreement.getInstance("X25519");
        agreement.init(mine);
        agreement.doPhase(x25519Public(epk), true);
        byte[] shared = agreement.generateSecret();
        byte[] recipient = publicOf(mine);
        byte[] salt = new byte[epk.length + recipient.length];
        System.arraycopy(epk, 0, salt, 0, epk.length);
        System.arraycopy(recipient, 0, salt, epk.length, recipient.length);
        byte[] key = hkdf(shared, salt, SEAL_INFO);
        Cipher cipher = Cipher.getInstance("ChaCha20-Poly1305");
        cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(b64d(Json.text(sealed, "nonce"))));
        cipher.updateAAD(context);
        return cipher.doFinal(b64d(Json.text(sealed, "ct")));
    }

    /** The raw public key of an X25519 private key: the scalar times the base point (u = 9). */
    private static byte[] publicOf(PrivateKey mine) throws GeneralSecurityException {
        KeyAgreement agreement = KeyAgreement.getInstance("X25519");
        agreement.init(mine);
        byte[] nine = new byte[32];
        nine[0] = 9;
        agreement.doPhase(x25519Public(nine), true);
        return agreement.generateSecret();
    }
}
