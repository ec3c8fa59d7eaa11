package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.time.Instant;

/**
 * Online answers a client can trust: bound to the request that asked, and the server's time kept
 * as an offset. Same rules as {@code licentia.core.answers}; the conformance vectors' {@code online}
 * cases hold this class to them.
 *
 * <p>Every online call that answers a signed document sends a fresh random {@code nonce}, which the
 * server signs into the document. Once the signature verifies and the document names this
 * installation's hardware and data path, the answer is taken only if, in this order: it carries
 * exactly the nonce sent (a saved genuine answer replayed by a fake server carries another); it
 * names the installation that asked (the one whose credential was sent, or whose new credential it
 * carries); and, for a document of the installation that asked, the machine of the last verified
 * document (an installation never changes machine).
 */
final class Answers {
    static final String INVALID_DOCUMENT = "invalid_document";
    static final String NONCE_MISMATCH = "nonce_mismatch";
    static final String OTHER_INSTALLATION = "other_installation";
    static final String OTHER_MACHINE = "other_machine";

    private static final SecureRandom RANDOM = new SecureRandom();

    private Answers() {}

    /** 16 random bytes, unpadded base64url (22 characters): what a request sends as {@code nonce}. */
    static String newNonce() {
        byte[] raw = new byte[16];
        RANDOM.nextBytes(raw);
        return Signing.base64Url(raw);
    }

    /** A credential part or token as the server makes them: 1-200 printable ASCII characters. */
    static boolean isToken(String value) {
        if (value == null || value.isEmpty() || value.length() > 200) return false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7e) return false;
        }
        return true;
    }

    static boolean isToken(JsonNode value) {
        return value != null && value.isTextual() && isToken(value.textValue());
    }

    /**
     * What one online request asked: its fresh nonce, the device whose credential it carried (null at
     * first contact), and the installation's last signed document, unverified (null when none).
     */
    record Asked(String nonce, String device, JsonNode known) {
        static Asked by(State state) {
            return new Asked(newNonce(), state.credential == null ? null : state.credential.device(), state.signed);
        }

        /** The machine of the installation's last verified document (an installation never changes machine). */
        String machine(Signing.PinnedKeys keys, String product) {
            if (device == null || known == null) return null;
            ObjectNode kept;
            try {
                kept = Signing.verify(known, keys, product, null);
            } catch (InvalidDocument e) {
                return null; // a kept document that does not verify is no evidence either way
            }
            return device.equals(Json.text(kept, "device")) ? Json.text(kept, "machine") : null;
        }

        /** Why a verified payload is not the answer to this request (null: it is). */
        String refusal(ObjectNode payload, String credentialDevice, Signing.PinnedKeys keys, String product) {
            String sent = Json.text(payload, "nonce");
            if (sent == null || !sent.equals(nonce)) return NONCE_MISMATCH;
            String expected = credentialDevice != null ? credentialDevice : device;
            String named = Json.text(payload, "device");
            if (expected == null || named == null || !named.equals(expected)) return OTHER_INSTALLATION;
            String machine = machine(keys, product);
            if (machine != null && named.equals(device) && !machine.equals(Json.text(payload, "machine"))) {
                return OTHER_MACHINE;
            }
            return null;
        }
    }

    /** A device id and its secret: what authenticates this installation (with its hardware). */
    record Credential(String device, String secret) {
        @Override
        public String toString() {
            return "Credential[device=" + device + "]"; // never the secret in a log
        }
    }

    /** What the client does with a server's answer: keep these parts, or refuse it. */
    record Verdict(boolean accepted, String refusal, String message, ObjectNode signed, ObjectNode payload,
            Credential credential, String token, long clockOffset, Status status) {
        static Verdict refused(String why, String detail) {
            return new Verdict(false, why, detail + " (" + why + ")", null, null, null, null, 0, null);
        }
    }

    /**
     * The credential an answer carries (its {@code credential} member, outside the signature), kept
     * only when it is an object for the device the verified document names, both parts tokens.
     */
    static Credential credentialOf(JsonNode offered, String documentDevice) {
        if (offered == null || !offered.isObject()) return null;
        String device = Json.text(offered, "device");
        String secret = Json.text(offered, "secret");
        if (isToken(device) && isToken(secret) && device.equals(documentDevice)) return new Credential(device, secret);
        return null;
    }

    /**
     * Judge a server's answer to the request {@code asked}, received at local time {@code receivedAt}.
     * Pure: nothing is stored; the caller keeps an accepted answer's parts and refuses the rest.
     */
    static Verdict judge(JsonNode answer, Asked asked, Signing.PinnedKeys keys, String product,
            Documents.Presented fingerprint, Instant receivedAt) {
        ObjectNode unverifiedSigned = Json.obj(answer, "signed");
        if (unverifiedSigned == null) return Verdict.refused(INVALID_DOCUMENT, "the server's answer carries no signed document");
        ObjectNode payload;
        Instant issued;
        try {
            // No issue-time check here: a bound answer's time is the server's, whatever the local clock says.
            payload = Documents.verifyForInstallation(unverifiedSigned, null, keys, product, fingerprint, null);
            issued = Times.parseOrNull(Json.pyStr(payload.get("issued_at")));
            if (issued == null) throw new InvalidDocument("document has no valid issue time");
        } catch (InvalidDocument e) {
            return Verdict.refused(INVALID_DOCUMENT, "the server's answer does not verify: " + e.getMessage());
        }
        Credential credential = credentialOf(answer.get("credential"), Json.text(payload, "device"));
        String why = asked.refusal(payload, credential == null ? null : credential.device(), keys, product);
        if (why != null) return Verdict.refused(why, "the server's answer is not the answer to this request");
        String token = Json.text(payload, "token");
        return new Verdict(true, null, null, unverifiedSigned, payload, credential, isToken(token) ? token : null,
                Times.clockOffset(issued, receivedAt), Documents.statusOf(payload, issued, true));
    }
}
