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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
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
            byte[] box = randomBytes(32);
            byte[] proof = randomBytes(32);
            String nonce = newNonce();
            String now = Times.toIso(lic.now());
            String text = requestText(lic.product, normalized, lic.fingerprint().toRequest(), nonce, now, box, proof,
                    lic.appVersion, Facts.osDescription());
            ObjectNode keys = load();
            ObjectNode entry = Json.object();
            entry.put("nonce", nonce);
            entry.put("box", b64e(box));
            entry.put("proof", b64e(proof));
            entry.put("created_at", now);
            ArrayNode pending = (ArrayNode) keys.get("pending");
            pending.add(entry);
            while (pending.size() > MAX_PENDING) pending.remove(0);
            save(keys);
            return text;
        });
    }

    /**
     * The request file, byte for byte as every client writes it: the claim, signed by the machine's
     * Ed25519 key {@code proof}, naming the X25519 key {@code box} the credential is sealed to.
     */
    static String requestText(String product, String key, ObjectNode fingerprint, String nonce, String createdAt,
            byte[] box, byte[] proof, String appVersion, String os) {
        KeyPair boxPair = fromSeed("X25519", box);
        KeyPair proofPair = fromSeed("Ed25519", proof);
        ObjectNode claim = Json.object();
        claim.put("v", FORMAT);
        claim.put("kind", "activation_request");
        claim.put("product", product);
        claim.put("key", key);
        claim.set("fingerprint", fingerprint);
        claim.put("nonce", nonce);
        claim.put("created_at", createdAt);
        claim.put("box_key", b64e(rawX25519Public((XECPublicKey) boxPair.getPublic())));
        claim.put("proof_key", b64e(Signing.rawPublicKey(proofPair.getPublic())));
        claim.put("app_version", appVersion);
        claim.put("os", os);
        return signedClaim(REQUEST, claim, proofPair.getPrivate());
    }

    /** A request written here and not yet answered: its nonce and its X25519 private key. */
    record Pending(String nonce, String box) {}

    /** A response opened: the first rule it fails, or what it brings and which pending request it answers. */
    record Opened(String refusal, ObjectNode signed, ObjectNode payload, Answers.Credential credential, String activation,
            int pendingIndex) {
        static Opened refused(String why) {
            return new Opened(why, null, null, null, null, -1);
        }
    }

    /**
     * Open a response in the contract's order: armored as a response (else {@code not_a_response}),
     * {@code v} 1 ({@code unknown_version}), this product ({@code other_product}), answering a pending
     * request ({@code unknown_request}), its document verifying for this installation at {@code at}
     * ({@code invalid_document}), answering that request ({@code other_request}), its credential
     * opening with that request's key ({@code sealed_elsewhere}) and naming the document's device
     * ({@code other_installation}). Pure: nothing is stored.
     */
    static Opened openResponse(String text, String product, Signing.PinnedKeys keys, Documents.Presented fingerprint,
            List<Pending> pending, Instant at) {
        ObjectNode unverified;
        try {
            unverified = unarmor(RESPONSE, text);
        } catch (InvalidAnswerException e) {
            return Opened.refused("not_a_response");
        }
        Long v = Json.integer(unverified, "v");
        if (v == null || v != FORMAT || unverified.get("v").isBoolean()) return Opened.refused("unknown_version");
        if (!product.equals(Json.text(unverified, "product"))) return Opened.refused("other_product");
        String nonce = Json.text(unverified, "request");
        int index = -1;
        for (int i = 0; i < pending.size(); i++) {
            if (nonce != null && nonce.equals(pending.get(i).nonce())) index = i;
        }
        if (index < 0) return Opened.refused("unknown_request");
        ObjectNode signed = Json.obj(unverified, "signed");
        ObjectNode payload;
        try {
            if (signed == null) throw new InvalidDocument("no signed document");
            // The hardware is read now: a response carried to another machine names other components.
            payload = Documents.verifyForInstallation(signed, keys, product, fingerprint, at);
        } catch (InvalidDocument e) {
            return Opened.refused("invalid_document");
        }
        ObjectNode offline = Json.obj(payload, "offline");
        if (offline == null || !nonce.equals(Json.text(offline, "request")) || !Answers.isToken(offline.get("activation"))) {
            return Opened.refused("other_request");
        }
        JsonNode opened;
        try {
            opened = Json.parse(unseal(Json.obj(unverified, "sealed"), pending.get(index).box(), nonce.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException | Json.JsonException | RuntimeException e) {
            return Opened.refused("sealed_elsewhere");
        }
        Answers.Credential credential = Answers.credentialOf(opened, Json.text(payload, "device"));
        if (credential == null) return Opened.refused("other_installation");
        return new Opened(null, signed, payload, credential, Json.text(offline, "activation"), index);
    }

    /** Step 3: install the vendor's response to one of this installation's requests; anything else is {@link InvalidAnswerException}. */
    public Status installActivation(String response) {
        return lic.locked(() -> {
            Instant now = lic.now();
            ObjectNode keys = load();
            List<Pending> pending = new ArrayList<>();
            for (JsonNode p : keys.get("pending")) pending.add(new Pending(Json.text(p, "nonce"), Json.text(p, "box")));
            State previous = lic.stateFile.load();
            Instant at = Times.serverTime(now, previous.clockOffset); // the local clock, set right by the last online answer
            Opened opened = openResponse(response, lic.product, lic.keys, lic.fingerprint().presented(), pending, at);
            if (opened.refusal() != null) {
                throw new InvalidAnswerException("this activation response does not fit this installation (" + opened.refusal() + ")");
            }
            State state = new State();
            state.signed = opened.signed();
            state.credential = opened.credential();
            String token = Json.text(opened.payload(), "token");
            state.token = Answers.isToken(token) ? token : null;
            state.lastSeen = Times.toIso(now);
            state.factsOptOut = previous.factsOptOut;
            state.clockOffset = previous.clockOffset;
            JsonNode answered = keys.get("pending").get(opened.pendingIndex());
            ((ArrayNode) keys.get("pending")).remove(opened.pendingIndex());
            ObjectNode activation = keys.putObject("activation");
            activation.put("id", opened.activation());
            activation.put("device", opened.credential().device());
            activation.put("proof", Json.text(answered, "proof"));
            keys.putNull("proof");
            save(keys);
            lic.save(state);
            return Documents.statusOf(opened.payload(), at, false);
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

    private static byte[] randomBytes(int n) {
        byte[] raw = new byte[n];
        new java.security.SecureRandom().nextBytes(raw);
        return raw;
    }

    /**
     * The key pair whose private key is these 32 raw bytes. The JDK makes a private key from random
     * bytes and derives its public half; a source that gives exactly these bytes is the way to get
     * the public half of a key kept raw (Ed25519's seed, X25519's scalar).
     */
    static KeyPair fromSeed(String algorithm, byte[] raw) {
        java.security.SecureRandom fixed = new java.security.SecureRandom() {
            private static final long serialVersionUID = 1L;

            @Override
            public void nextBytes(byte[] bytes) {
                System.arraycopy(raw, 0, bytes, 0, Math.min(raw.length, bytes.length));
            }
        };
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
            generator.initialize(algorithm.equals("Ed25519") ? NamedParameterSpec.ED25519 : NamedParameterSpec.X25519, fixed);
            return generator.generateKeyPair();
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
