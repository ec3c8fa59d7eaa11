package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Signed documents: Ed25519 (the JDK's own provider) over canonical JSON, one key pair per product.
 *
 * <p>A signed document is {@code {"document": {...}, "kid", "sig", "endorsements": [...]}}; {@code sig}
 * covers the canonical JSON of {@code document} and nothing else. The application pins the
 * product's public key; after a key rotation each new key is endorsed (signed) by the one before it,
 * and documents carry the chain. Verification throws {@link InvalidDocument} and never returns a
 * boolean a caller could forget to test. Same rules as {@code licentia.core.signing}.
 */
final class Signing {
    static final String PUBLIC_KEY_SCHEME = "ed25519";
    /** How far a document's issue time may lie in the verifier's future (forged, or the clock wound back). */
    static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(10);
    private static final int MAX_ENDORSEMENTS = 32;
    private static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));

    private Signing() {}

    /** Pinned keys by key id (immutable). */
    static final class PinnedKeys {
        final Map<String, PublicKey> byKid;

        PinnedKeys(Map<String, PublicKey> byKid) {
            this.byKid = Collections.unmodifiableMap(new LinkedHashMap<>(byKid));
        }
    }

    /** Strict base64url without padding; anything else is not one of ours. */
    static byte[] base64UrlDecode(String text) throws InvalidDocument {
        if (text == null || !isBase64Url(text) || text.length() % 4 == 1) {
            throw new InvalidDocument("malformed base64");
        }
        try {
            return Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new InvalidDocument("malformed base64");
        }
    }

    /** Only [A-Za-z0-9_-] (checked by hand: a signature is decoded at every check). */
    private static boolean isBase64Url(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    static String base64Url(byte[] raw) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    }

    static String keyId(byte[] raw) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(raw);
            return HexFormat.of().formatHex(digest).substring(0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An Ed25519 public key from its 32 raw bytes (RFC 8032 encoding); null if they are not one. */
    static PublicKey ed25519PublicKey(byte[] raw) {
        if (raw == null || raw.length != 32) return null;
        byte[] le = raw.clone();
        boolean xOdd = (le[31] & 0x80) != 0;
        le[31] &= 0x7f;
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) be[i] = le[31 - i];
        BigInteger y = new BigInteger(1, be);
        if (y.compareTo(P) >= 0) return null;
        try {
            KeyFactory factory = KeyFactory.getInstance("Ed25519");
            return factory.generatePublic(new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, y)));
        } catch (GeneralSecurityException | RuntimeException e) {
            return null;
        }
    }

    /** The 32 raw bytes of an Ed25519 public key. */
    static byte[] rawPublicKey(PublicKey key) {
        EdECPoint point = ((EdECPublicKey) key).getPoint();
        byte[] be = point.getY().toByteArray();
        byte[] le = new byte[32];
        for (int i = 0; i < be.length && i < 32; i++) le[i] = be[be.length - 1 - i];
        if (point.isXOdd()) le[31] |= (byte) 0x80;
        return le;
    }

    record Loaded(String kid, PublicKey key) {}

    /** Parse {@code ed25519:<kid>:<base64url raw key>}; the key id is recomputed, never trusted. */
    static Loaded loadPublicKey(String text) {
        String bad = "not a Licentia public key (expected 'ed25519:<kid>:<key>')";
        if (text == null) throw new ConfigurationException(bad);
        String[] parts = text.trim().split(":", -1);
        if (parts.length != 3 || !parts[0].equals(PUBLIC_KEY_SCHEME)) throw new ConfigurationException(bad);
        byte[] raw;
        try {
            raw = base64UrlDecode(parts[2]);
        } catch (InvalidDocument e) {
            throw new ConfigurationException(bad);
        }
        PublicKey key = ed25519PublicKey(raw);
        if (key == null) throw new ConfigurationException(bad);
        if (!keyId(raw).equals(parts[1])) throw new ConfigurationException("the public key's id does not match the key");
        return new Loaded(parts[1], key);
    }

    /** Pin one key or several (during a rotation). */
    static PinnedKeys pin(List<String> texts) {
        Map<String, PublicKey> keys = new LinkedHashMap<>();
        if (texts != null) {
            for (String text : texts) {
                Loaded loaded = loadPublicKey(text);
                keys.put(loaded.kid(), loaded.key());
            }
        }
        if (keys.isEmpty()) throw new ConfigurationException("pin at least one public key");
        return new PinnedKeys(keys);
    }

    static boolean verifies(PublicKey key, byte[] signature, byte[] message) {
        if (signature.length != 64) return false;
        try {
            Signature verifier = Signature.getInstance("Ed25519"); // not thread-safe: one per use
            verifier.initVerify(key);
            verifier.update(message);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static Map<String, PublicKey> trustedKeys(PinnedKeys pinned, JsonNode endorsements, String product)
            throws InvalidDocument {
        Map<String, PublicKey> keys = new LinkedHashMap<>(pinned.byKid);
        if (!Json.truthy(endorsements)) return keys;
        if (!endorsements.isArray() || endorsements.size() > MAX_ENDORSEMENTS) {
            throw new InvalidDocument("malformed endorsements");
        }
        // Endorsements may arrive in any order; keep passing until no new key is learnt.
        List<JsonNode> pending = new ArrayList<>();
        endorsements.forEach(pending::add);
        boolean progress = true;
        while (!pending.isEmpty() && progress) {
            progress = false;
            for (JsonNode item : new ArrayList<>(pending)) {
                String by = Json.text(item, "by");
                if (by == null || !keys.containsKey(by)) continue;
                pending.remove(item);
                String publicKey = Json.text(item, "public_key");
                String sig = Json.text(item, "sig");
                if (publicKey == null || sig == null) continue;
                Loaded learnt;
                byte[] signature;
                try {
                    learnt = loadPublicKey(publicKey);
                    signature = base64UrlDecode(sig);
                } catch (ConfigurationException | InvalidDocument e) {
                    continue;
                }
                ObjectNode claim = Json.object();
                claim.put("kid", learnt.kid());
                claim.put("public_key", publicKey);
                claim.put("product", product);
                byte[] message;
                try {
                    message = Canonical.bytes(claim);
                } catch (Json.JsonException e) {
                    continue;
                }
                if (!verifies(keys.get(by), signature, message)) continue;
                if (learnt.kid().equals(Json.text(item, "kid"))) {
                    keys.putIfAbsent(learnt.kid(), learnt.key());
                    progress = true;
                }
            }
        }
        return keys;
    }

    /** {@link #verify(JsonNode, PinnedKeys, String, Instant)} on text or bytes as read from a file. */
    static ObjectNode verify(byte[] unverified, PinnedKeys pinned, String product, Instant atTime) throws InvalidDocument {
        JsonNode parsed;
        try {
            parsed = Json.parse(unverified);
        } catch (Json.JsonException e) {
            throw new InvalidDocument("malformed document");
        }
        return verify(parsed, pinned, product, atTime);
    }

    /**
     * Verify a signed document and return its payload. The payload must name {@code product}; with
     * {@code atTime}, a document issued more than ten minutes in its future is refused.
     */
    static ObjectNode verify(JsonNode unverifiedSigned, PinnedKeys pinned, String product, Instant atTime)
            throws InvalidDocument {
        return verify(unverifiedSigned, null, pinned, product, atTime);
    }

    /** {@link #verify(JsonNode, PinnedKeys, String, Instant)}, with the document's canonical bytes as stored, if known. */
    static ObjectNode verify(JsonNode unverifiedSigned, Canonical.Known storedText, PinnedKeys pinned, String product,
            Instant atTime) throws InvalidDocument {
        if (unverifiedSigned == null || !unverifiedSigned.isObject()) throw new InvalidDocument("malformed document");
        ObjectNode unverifiedPayload = Json.obj(unverifiedSigned, "document");
        String kid = Json.text(unverifiedSigned, "kid");
        String sig = Json.text(unverifiedSigned, "sig");
        if (unverifiedPayload == null || kid == null || sig == null) throw new InvalidDocument("malformed document");
        byte[] signature = base64UrlDecode(sig);
        Map<String, PublicKey> keys = trustedKeys(pinned, unverifiedSigned.get("endorsements"), product);
        PublicKey key = keys.get(kid);
        if (key == null) throw new InvalidDocument("document signed by an unknown key");
        byte[] body;
        try {
            body = Canonical.bytes(unverifiedPayload, storedText);
        } catch (Json.JsonException e) {
            throw new InvalidDocument("bad signature");
        }
        if (!verifies(key, signature, body)) throw new InvalidDocument("bad signature");
        ObjectNode payload = unverifiedPayload;
        if (!product.equals(Json.text(payload, "product"))) throw new InvalidDocument("document is for another product");
        if (atTime != null) {
            Instant issued = Times.parseOrNull(Json.pyStr(payload.get("issued_at")));
            if (issued == null) throw new InvalidDocument("document has no valid issue time");
            if (Duration.between(atTime, issued).compareTo(MAX_CLOCK_SKEW) > 0) {
                throw new InvalidDocument("document issued in the future");
            }
        }
        return payload;
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
