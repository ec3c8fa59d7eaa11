package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.XECPublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The air-gapped files' text and crypto, as {@code licentia.core.airgap}: canonical JSON in
 * base64url between BEGIN and END lines, Ed25519 signed claims, and the credential sealed to the
 * machine's X25519 key (X25519, HKDF-SHA256, ChaCha20-Poly1305: the shape of libsodium's sealed
 * boxes), all from the JDK. Everything that parses throws {@link InvalidAnswerException} or
 * {@link GeneralSecurityException}, whatever the input.
 */
final class AirGapFiles {
    static final String REQUEST = "ACTIVATION REQUEST";
    static final String RESPONSE = "ACTIVATION RESPONSE";
    static final String PROOF = "DEACTIVATION PROOF";
    private static final int MAX_CHARS = 64 * 1024;
    private static final Pattern ARMOR = Pattern.compile(
            "-----BEGIN LICENTIA ([A-Z ]+)-----\\s*(.*?)\\s*-----END LICENTIA \\1-----", Pattern.DOTALL);
    private static final byte[] SEAL_INFO = "licentia offline credential v1".getBytes(StandardCharsets.US_ASCII);

    private AirGapFiles() {}

    static String b64e(byte[] raw) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    }

    static byte[] b64d(String text) {
        if (text == null) throw new IllegalArgumentException("base64url text expected");
        String cleaned = text.replace('+', '-').replace('/', '_').replace("=", "");
        return Base64.getUrlDecoder().decode(cleaned);
    }

    static String newNonce() {
        byte[] raw = new byte[32];
        new java.security.SecureRandom().nextBytes(raw);
        return b64e(raw);
    }

    static byte[] randomBytes(int n) {
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

    static String signedClaim(String kind, ObjectNode claim, PrivateKey key) {
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

    static ObjectNode unarmor(String kind, String text) {
        if (text == null || text.isEmpty() || text.length() > MAX_CHARS) {
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
