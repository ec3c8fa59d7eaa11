package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Floating leases: checkout, heartbeat and release calls, and lease documents kept in
 * {@code <dataDir>/lease.json}. Every lease document is verified before it is trusted, like a
 * status document: the pinned key, the product, {@code type} {@code floating_lease} and this
 * machine's hardware read afresh, so a document copied to another computer, or edited, grants
 * nothing; and an online answer must be bound to its request (nonce, device, machine).
 */
final class Leases {
    static final String FILE = "lease.json";
    static final String DOCUMENT_TYPE = "floating_lease";
    private static final int MAX_LEASE_BYTES = 1 << 16;

    private Leases() {}

    /** A verified lease document: its payload, the signed envelope as received, and its two times. */
    record Verified(ObjectNode payload, ObjectNode signed, Instant expires, Instant issued) {}

    /** What a verified lease grants, judged at {@code at}. */
    record View(String id, String state, Instant expiresAt, double secondsLeft, double heartbeatSeconds,
            Map<String, Object> entitlements, List<String> features) {}

    /** A lease document accepted (with what it grants) or refused for the first rule it fails. */
    record Verdict(String refusal, Verified verified, View view) {
        boolean accepted() {
            return refusal == null;
        }
    }

    /**
     * Trust a lease document only when it verifies with the pinned keys for this product, its
     * {@code type} is {@code floating_lease}, {@code lease} is text, both times read, and its
     * components match this machine K of N; its data path is not compared.
     */
    static Verified verify(JsonNode unverifiedSigned, Signing.PinnedKeys keys, String product, Map<String, String> components,
            Instant atTime) throws InvalidDocument {
        ObjectNode payload = Signing.verify(unverifiedSigned, keys, product, atTime);
        if (!DOCUMENT_TYPE.equals(Json.text(payload, "type")) || Json.text(payload, "lease") == null) {
            throw new InvalidDocument("not a lease document");
        }
        Instant expires = Times.parseOrNull(Json.pyStr(payload.get("expires_at")));
        Instant issued = Times.parseOrNull(Json.pyStr(payload.get("issued_at")));
        JsonNode rawMin = payload.get("min_match");
        if (expires == null || issued == null || (Json.truthy(rawMin) && !Json.fitsCanonical(rawMin))) {
            throw new InvalidDocument("malformed lease document");
        }
        long k = Json.truthy(rawMin) ? rawMin.longValue() : 2;
        JsonNode stored = payload.get("components");
        if (stored == null || !stored.isObject() || !Fingerprints.matches(stored, components, k)) {
            throw new InvalidDocument("the lease is for another machine");
        }
        return new Verified(payload, (ObjectNode) unverifiedSigned, expires, issued);
    }

    static View view(Verified v, Instant at) {
        ObjectNode payload = v.payload();
        double left = Math.max(0, java.time.Duration.between(at, v.expires()).toMillis() / 1000.0);
        Long every = Json.integer(payload, "heartbeat_seconds");
        Long seconds = Json.integer(payload, "lease_seconds");
        double limit = seconds != null && seconds > 0 ? seconds / 2.0 : 60.0;
        double heartbeat = every != null && every > 0 && every <= limit ? every : limit / 2;
        List<String> features = new ArrayList<>();
        JsonNode raw = payload.get("features");
        if (raw != null && raw.isArray()) raw.forEach(f -> { if (f.isTextual()) features.add(f.textValue()); });
        return new View(Json.text(payload, "lease"), Json.isTrue(payload, "borrowed") ? "borrowed" : "active", v.expires(),
                left, heartbeat, Documents.entitlementsInForce(payload.get("entitlements"), at), List.copyOf(features));
    }

    /** A checkout, heartbeat or borrow answer: verified, naming its document's lease, bound to its request; judged at its issue time. */
    static Verdict judgeAnswer(JsonNode answer, Answers.Asked asked, Signing.PinnedKeys keys, String product,
            Map<String, String> components) {
        ObjectNode signed = Json.obj(answer, "signed");
        if (signed == null) return new Verdict(Answers.INVALID_DOCUMENT, null, null);
        Verified v;
        try {
            v = verify(signed, keys, product, components, null);
        } catch (InvalidDocument e) {
            return new Verdict(Answers.INVALID_DOCUMENT, null, null);
        }
        if (!Json.text(v.payload(), "lease").equals(Json.text(answer, "lease"))) return new Verdict("other_lease", null, null);
        String why = asked.refusal(v.payload(), null, keys, product);
        if (why != null) return new Verdict(why, null, null);
        return new Verdict(null, v, view(v, v.issued()));
    }

    /** A lease kept in {@code lease.json}, used offline: at the server's time, only a borrowed one, until its end (exclusive). */
    static Verdict judgeStored(JsonNode signed, Signing.PinnedKeys keys, String product, Map<String, String> components,
            Instant now, long offsetSeconds) {
        Instant at = Times.serverTime(now, offsetSeconds);
        Verified v;
        try {
            v = verify(signed, keys, product, components, at);
        } catch (InvalidDocument e) {
            return new Verdict(Answers.INVALID_DOCUMENT, null, null);
        }
        if (!Json.isTrue(v.payload(), "borrowed")) return new Verdict("not_borrowed", null, null);
        if (!v.expires().isAfter(at)) return new Verdict("ended", null, null);
        return new Verdict(null, v, view(v, at));
    }

    static Lease checkout(Licentia lic, String key, Integer borrowDays, boolean heartbeats) {
        if (borrowDays != null && (borrowDays < 1 || borrowDays > 365)) {
            throw new ConfigurationException("borrowDays is a whole number of days from 1 to 365");
        }
        String normalized = LicenseKeys.normalize(key); // a typo is caught here, before any network call
        DeviceCalls.Exchange exchange;
        try {
            exchange = call(lic, "/v1/leases", normalized, borrowDays);
        } catch (OfflineException e) {
            if (e instanceof InvalidAnswerException) throw e;
            Lease stored = stored(lic);
            if (stored == null || !stored.borrowed()) throw e;
            return stored;
        }
        Lease lease = new Lease(lic, normalized, verified(lic, exchange), true);
        if (heartbeats) lease.startHeartbeats(null);
        return lease;
    }

    /**
     * POST a lease call with this installation's credential (first contact if it has none yet). A
     * credential the server no longer knows is replaced once, as a check does.
     */
    static DeviceCalls.Exchange call(Licentia lic, String path, String key, Integer borrowDays) {
        for (int attempt = 1; ; attempt++) {
            Answers.Credential credential = lic.credential();
            Answers.Asked asked = lic.locked(() -> Answers.Asked.by(lic.stateFile.load()));
            ObjectNode body = Json.object();
            body.put("nonce", asked.nonce());
            if (key != null) {
                body.put("product", lic.product);
                body.put("key", key);
                if (borrowDays != null) body.put("borrow_days", borrowDays);
            }
            try {
                return new DeviceCalls.Exchange(lic.transport.request(Transport.Call.post(path, body, credential)), asked);
            } catch (ServerRefusedException e) {
                if (!ErrorCodes.INVALID_CREDENTIAL.equals(e.code()) || attempt == 2) throw e;
                lic.check(); // the server re-identifies this installation and issues a new credential
            }
        }
    }

    /** The verified lease document of an answer, if it answers this request for this installation. */
    static Verified verified(Licentia lic, DeviceCalls.Exchange exchange) {
        Verdict verdict = judgeAnswer(exchange.answer(), exchange.asked(), lic.keys, lic.product, lic.fingerprint().components());
        if (!verdict.accepted()) {
            throw new InvalidAnswerException("the server's lease is not the answer to this request (" + verdict.refusal() + ")");
        }
        return verdict.verified();
    }

    /** Keep the last lease document (verified when read); a failure to write only costs offline use. */
    static void save(Licentia lic, ObjectNode signed) {
        try {
            AtomicFiles.write(lic.dataDir.resolve(FILE), Json.write(signed));
        } catch (IOException | RuntimeException e) {
            // offline use of a borrow is lost; the lease itself holds
        }
    }

    static JsonNode readKept(Licentia lic) {
        byte[] raw = AtomicFiles.readSmall(lic.dataDir.resolve(FILE), MAX_LEASE_BYTES);
        try {
            return raw == null ? null : Json.parse(raw);
        } catch (Json.JsonException e) {
            return null;
        }
    }

    /** Drop the stored document of a returned lease (a newer lease's document stays). */
    static void forget(Licentia lic, String leaseId) {
        JsonNode stored = readKept(lic);
        if (leaseId.equals(Json.text(Json.obj(stored, "document"), "lease"))) {
            try {
                Files.deleteIfExists(lic.dataDir.resolve(FILE));
            } catch (IOException | RuntimeException e) {
                // it verifies as ended anyway
            }
        }
    }

    /**
     * The lease kept in {@code lease.json} if it verifies for this machine and has not ended, else
     * null. Only a borrowed lease is meant to be used this way; the local clock is trusted only while
     * no witness says it was wound back.
     */
    static Lease stored(Licentia lic) {
        return lic.locked(() -> {
            Instant now = lic.now();
            State state = lic.stateFile.load();
            Instant lastSeen = Times.parseOrNull(state.lastSeen);
            Instant witness = Witnesses.latest(lic, lastSeen, state.fileClockSkew);
            if (witness != null && now.plus(lic.rollbackTolerance).isBefore(witness)) return null; // wound back
            if (state.credential != null && (lastSeen == null || now.isAfter(lastSeen))) {
                state.lastSeen = Times.toIso(now); // a later winding back of the clock is caught against this
                try {
                    lic.save(state);
                } catch (ConfigurationException e) {
                    // rollback detection is weaker then
                }
            }
            JsonNode unverified = readKept(lic);
            if (unverified == null) return null;
            Verdict verdict = judgeStored(unverified, lic.keys, lic.product, lic.fingerprint().components(), now, state.clockOffset);
            if (!verdict.accepted()) return null;
            Verified v = verdict.verified();
            return new Lease(lic, null, v, false);
        });
    }

    static Path file(Licentia lic) {
        return lic.dataDir.resolve(FILE);
    }
}
