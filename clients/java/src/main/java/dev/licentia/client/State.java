package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * What the SDK remembers between runs, in {@code <dataDir>/state.json}, in the Python SDK's format
 * (so either SDK reads the other's file). Field values are unverified until used.
 *
 * <p>The state is sealed with HMAC-SHA256 under a key derived from the device secret. An edited or
 * damaged file, or one whose MAC does not match, is no state: offline it grants nothing
 * ({@code corrupt_state}), online the next check is a first contact. Before the server issued a
 * credential there is no key, so only the facts opt-out is kept. What the MAC does not stop: the
 * secret sits in this file, so someone in full control of the machine can re-seal an edited state;
 * what still holds then is what the server signed, re-verified with the pinned key and this
 * machine's hardware on every use.
 *
 * <p>Not thread-safe: {@link Licentia} loads and saves it under its lock.
 */
final class State {
    static final String FILE = "state.json";
    static final int FORMAT = 2;
    static final int MAX_BYTES = 1 << 20;
    private static final byte[] MAC_LABEL = "licentia-client state mac v1".getBytes(StandardCharsets.UTF_8);

    JsonNode signed;
    /** The canonical bytes of {@code signed}'s document as stored, when stored canonically (as the SDKs write it); else null. */
    Canonical.Known documentText;
    Answers.Credential credential;
    String token;
    boolean installReported;
    String lastUsageReport;
    /** The latest local time seen (ISO 8601): a clock wound back below it is noticed. */
    String lastSeen;
    /** Seconds from the local clock to the server's, measured on the last bound answer. */
    long clockOffset;
    long fileClockSkew;
    boolean escrowed;
    boolean factsOptOut;
    boolean corrupt;

    static State empty(boolean corrupt) {
        State s = new State();
        s.corrupt = corrupt;
        return s;
    }

    static String mac(String device, String secret, byte[] body) {
        byte[] key = Fingerprints.hmacSha256(secret.getBytes(StandardCharsets.UTF_8), MAC_LABEL);
        byte[] message = new byte[device.getBytes(StandardCharsets.UTF_8).length + 1 + body.length];
        byte[] d = device.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(d, 0, message, 0, d.length);
        message[d.length] = '\n';
        System.arraycopy(body, 0, message, d.length + 1, body.length);
        return HexFormat.of().formatHex(Fingerprints.hmacSha256(key, message));
    }

    byte[] toBytes() throws Json.JsonException {
        ObjectNode outer = Json.object();
        outer.put("format", FORMAT);
        if (credential == null) {
            outer.put("facts_opt_out", factsOptOut);
            return Json.write(outer);
        }
        ObjectNode body = Json.object();
        body.set("signed", signed);
        body.put("token", token);
        body.put("install_reported", installReported);
        body.put("last_usage_report", lastUsageReport);
        body.put("last_seen", lastSeen);
        body.put("clock_offset", clockOffset);
        body.put("file_clock_skew", fileClockSkew);
        body.put("escrowed", escrowed);
        body.put("facts_opt_out", factsOptOut);
        // Canonical: the document's big integers stay exact, and the Python SDK seals the same bytes.
        String text = Canonical.text(body);
        outer.put("device", credential.device());
        outer.put("secret", credential.secret());
        outer.put("state", text);
        outer.put("mac", mac(credential.device(), credential.secret(), text.getBytes(StandardCharsets.UTF_8)));
        return Json.write(outer);
    }

    static State fromBytes(byte[] raw) {
        JsonNode outer = JsonText.read(raw);
        try {
            if (outer == null) outer = Json.parse(raw);
        } catch (Json.JsonException e) {
            return empty(true);
        }
        boolean optOut = optedOut(outer);
        Long format = Json.integer(outer, "format");
        if (outer.isObject() && format != null && format == 1 && !outer.get("format").isBoolean()) return unsealed(outer);
        if (!outer.isObject() || format == null || format != FORMAT) return optedOut(empty(true), optOut);
        String device = Json.text(outer, "device");
        String secret = Json.text(outer, "secret");
        String body = Json.text(outer, "state");
        String mac = Json.text(outer, "mac");
        if (!outer.has("device") && !outer.has("secret") && !outer.has("state") && !outer.has("mac")) {
            return optedOut(empty(false), optOut); // before the first credential
        }
        if (!nonEmpty(device) || !nonEmpty(secret) || !nonEmpty(body) || !nonEmpty(mac)) return optedOut(empty(true), optOut);
        // The credential goes into headers: anything but printable ASCII (CR/LF above all) is damage.
        if (!Answers.isToken(device) || !Answers.isToken(secret)) return optedOut(empty(true), optOut);
        byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
        byte[] expected = mac(device, secret, bodyBytes).getBytes(StandardCharsets.US_ASCII);
        JsonNode fields = null;
        JsonText.Read read = null;
        if (MessageDigest.isEqual(expected, mac.getBytes(StandardCharsets.UTF_8))) {
            // Read in one pass, keeping the document's bytes when canonical; any other text is Jackson's to read.
            read = JsonText.read(bodyBytes, "signed", "document");
            try {
                fields = read != null ? read.tree() : Json.parse(bodyBytes);
            } catch (Json.JsonException e) {
                fields = null;
            }
        }
        if (fields == null || !fields.isObject()) return optedOut(empty(true), optOut);
        State s = new State();
        JsonNode signed = fields.get("signed");
        s.signed = signed != null && signed.isObject() ? signed : null;
        s.documentText = read != null ? read.known() : null;
        s.credential = new Answers.Credential(device, secret);
        s.token = Json.text(fields, "token");
        s.installReported = Json.isTrue(fields, "install_reported");
        s.lastUsageReport = Json.text(fields, "last_usage_report");
        s.lastSeen = Json.text(fields, "last_seen");
        Long offset = Json.integer(fields, "clock_offset");
        s.clockOffset = offset != null && Times.usableOffset(offset) ? offset : 0;
        Long skew = Json.integer(fields, "file_clock_skew");
        s.fileClockSkew = skew != null && Times.usableOffset(skew) ? skew : 0;
        s.escrowed = Json.isTrue(fields, "escrowed");
        s.factsOptOut = Json.isTrue(fields, "facts_opt_out");
        return s;
    }

    /** The user's opt-out, read even from a damaged file: honouring it can only send less. */
    private static boolean optedOut(JsonNode outer) {
        if (Json.isTrue(outer, "facts_opt_out")) return true;
        String body = Json.text(outer, "state");
        return body != null && body.contains("\"facts_opt_out\":true");
    }

    /**
     * A state written by an SDK before seals (format 1), sealed at its next save. Dropping it would
     * lose the credential; what is kept grants nothing by itself (the server checks the credential and
     * the token, the signature and this machine's hardware the document). No time seen: nothing vouched for it.
     */
    private static State unsealed(JsonNode old) {
        State s = new State();
        s.factsOptOut = Json.isTrue(old, "facts_opt_out");
        JsonNode cred = old.get("credential");
        if (cred == null || !cred.isArray() || cred.size() != 2 || !Answers.isToken(cred.get(0)) || !Answers.isToken(cred.get(1))) {
            return s;
        }
        s.credential = new Answers.Credential(cred.get(0).textValue(), cred.get(1).textValue());
        JsonNode signed = old.get("signed");
        s.signed = signed != null && signed.isObject() ? signed : null;
        s.token = Json.text(old, "token");
        s.installReported = Json.isTrue(old, "install_reported");
        return s;
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isEmpty();
    }

    private static State optedOut(State s, boolean optOut) {
        s.factsOptOut = optOut;
        return s;
    }

    /** Reads and atomically replaces {@code state.json} in a data directory. */
    static final class StateFile {
        final Path path;

        StateFile(Path dataDir) {
            this.path = dataDir.resolve(FILE);
        }

        State load() {
            if (AtomicFiles.missing(path)) return empty(false);
            byte[] raw = AtomicFiles.readSmall(path, MAX_BYTES);
            return raw == null ? empty(true) : fromBytes(raw);
        }

        void save(State state) throws IOException {
            try {
                AtomicFiles.write(path, state.toBytes());
            } catch (Json.JsonException e) {
                throw new IOException("the state cannot be written: " + e.getMessage());
            }
        }
    }
}
