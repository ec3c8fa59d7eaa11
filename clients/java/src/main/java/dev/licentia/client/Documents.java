package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a signed status document becomes a {@link Status}, online and offline: verify the signature
 * with the pinned keys, check the document describes this installation, then apply the status rules
 * ({@code licentia.core.status.judge}). The SDK never grants more than a document it verified says.
 */
final class Documents {
    /** How far the local clock may run behind the latest time the SDK saw before it counts as wound back. */
    static final Duration DEFAULT_ROLLBACK_TOLERANCE = Duration.ofHours(2);

    private Documents() {}

    /** Hashed components and data path: what identifies this installation. */
    record Presented(Map<String, String> components, String dataPath) {}

    /** What a status document means at a moment. */
    record Verdict(boolean allowed, String state, String reason, Long daysLeft, List<String> features) {}

    /** Thrown for a payload without the fields the rules need (Python's KeyError/TypeError/ValueError). */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed() {
            super("malformed document");
        }
    }

    private static Instant time(JsonNode value) throws Malformed {
        String text = Json.pyStr(value);
        if (text == null) throw new Malformed();
        try {
            return Times.parse(text);
        } catch (DateTimeException | ArithmeticException e) {
            throw new Malformed();
        }
    }

    private static long pyInt(JsonNode value) throws Malformed {
        if (!Json.truthy(value)) return 0;
        if (value.isIntegralNumber()) {
            BigInteger n = value.bigIntegerValue();
            if (n.bitLength() > 40) throw new Malformed();
            return n.longValue();
        }
        if (value.isBoolean()) return 1;
        if (value.isTextual() && value.textValue().matches("\\s*[-+]?\\d{1,12}\\s*")) {
            return Long.parseLong(value.textValue().trim().replace("+", ""));
        }
        throw new Malformed();
    }

    /**
     * Apply the status rules to a verified payload at {@code now}: a trial ends at {@code trial_end},
     * a license at its expiry, and the document is trusted until {@code lease_until} and then for
     * {@code grace_days} more.
     */
    static Verdict judge(ObjectNode payload, Instant now) throws Malformed {
        JsonNode rawStatus = payload.get("status");
        String status = rawStatus == null ? "None" : Json.pyStr(rawStatus);
        List<String> features = new ArrayList<>();
        JsonNode rawFeatures = payload.get("features");
        if (Json.truthy(rawFeatures)) {
            if (!rawFeatures.isArray()) throw new Malformed();
            for (JsonNode f : rawFeatures) {
                String s = Json.pyStr(f);
                if (s == null || (!f.isTextual() && !f.isIntegralNumber() && !f.isBoolean() && !f.isNull())) throw new Malformed();
                features.add(s);
            }
        }
        JsonNode reason = payload.get("reason");
        if (!payload.has("lease_until")) throw new Malformed();
        Instant leaseUntil = time(payload.get("lease_until"));
        long graceDays = pyInt(payload.get("grace_days"));
        Verdict base;
        if (status.equals(DeviceStatuses.TRIAL)) {
            JsonNode end = payload.get("trial_end");
            Instant trialEnd = Json.truthy(end) ? time(end) : null;
            if (trialEnd != null && !now.isBefore(trialEnd)) {
                return new Verdict(false, DeviceStatuses.TRIAL_EXPIRED, "trial_ended", 0L, List.of());
            }
            base = new Verdict(true, status, null, trialEnd != null ? Times.daysUntil(trialEnd, now) : null, features);
        } else if (status.equals(DeviceStatuses.REGISTERED)) {
            JsonNode lic = payload.get("license");
            JsonNode expires = null;
            if (Json.truthy(lic)) {
                if (!lic.isObject()) throw new Malformed();
                expires = lic.get("expires_at");
            }
            Instant expiry = Json.truthy(expires) ? time(expires) : null;
            if (expiry != null && !now.isBefore(expiry)) {
                return new Verdict(false, LicenseStates.EXPIRED, "license_expired", 0L, List.of());
            }
            base = new Verdict(true, status, null, expiry != null ? Times.daysUntil(expiry, now) : null, features);
        } else {
            return new Verdict(false, status, Json.truthy(reason) ? Json.pyStr(reason) : status, 0L, List.of());
        }
        if (!now.isAfter(leaseUntil)) return base;
        if (graceDays > 100_000 || graceDays < -100_000) throw new Malformed();
        Instant graceEnd = leaseUntil.plus(Duration.ofDays(graceDays));
        if (!now.isAfter(graceEnd)) {
            return new Verdict(true, "grace", "lease_expired", Times.daysUntil(graceEnd, now), features);
        }
        return new Verdict(false, "lease_expired", "lease_expired", 0L, List.of());
    }

    /**
     * Verify signature and product, then that the document names this installation: a genuine
     * document of another device (copied in, or replayed between the app and the server) must not
     * unlock this one.
     */
    static ObjectNode verifyForInstallation(JsonNode unverifiedSigned, Canonical.Known storedText, Signing.PinnedKeys keys,
            String product, Presented fingerprint, Instant atTime) throws InvalidDocument {
        ObjectNode payload = Signing.verify(unverifiedSigned, storedText, keys, product, atTime);
        if (fingerprint != null) {
            JsonNode components = payload.get("components");
            if (components == null || !components.isObject()
                    || !fingerprint.dataPath().equals(Json.text(payload, "data_path"))) {
                throw new InvalidDocument("document is for another installation");
            }
            JsonNode raw = payload.get("min_match");
            long minMatch = 2;
            if (raw != null && raw.isIntegralNumber()) {
                BigInteger n = raw.bigIntegerValue();
                if (n.bitLength() > 31) throw new InvalidDocument("malformed document");
                minMatch = n.signum() == 0 ? 2 : n.longValue();
            } else if (raw != null && raw.isBoolean()) {
                minMatch = raw.booleanValue() ? 1 : 2;
            } else if (Json.truthy(raw)) {
                throw new InvalidDocument("malformed document");
            }
            if (!Fingerprints.matches(components, fingerprint.components(), minMatch)) {
                throw new InvalidDocument("document is for another device");
            }
        }
        return payload;
    }

    static Status statusOf(ObjectNode payload, Instant now, boolean online) {
        Verdict verdict;
        try {
            verdict = judge(payload, now);
        } catch (Malformed e) {
            return Status.denied("invalid_document", online, "unknown");
        }
        String reason = verdict.reason();
        if (reason == null && Json.truthy(payload.get("reason"))) reason = Json.pyStr(payload.get("reason"));
        String device = Json.truthy(payload.get("device")) ? Json.pyStr(payload.get("device")) : null;
        return new Status(verdict.allowed(), verdict.state(), verdict.daysLeft(), verdict.features(), reason, online,
                device, latestRelease(payload.get("latest_release")), Json.isTrue(payload, "clone_suspected"),
                entitlements(payload, verdict, now), maintenance(payload.get("maintenance")), customer(payload), user(payload), true);
    }

    /** The person the signed document names, on a license whose seats are users: printable, 1-320 characters; else null. */
    static String user(ObjectNode payload) {
        String found = Json.text(payload, "user");
        if (found == null || found.isEmpty() || found.codePointCount(0, found.length()) > 320) return null;
        boolean printable = found.codePoints().allMatch(c -> c == ' ' || (!Character.isISOControl(c) && !Character.isWhitespace(c)
                && Character.getType(c) != Character.FORMAT && Character.getType(c) != Character.SURROGATE
                && Character.getType(c) != Character.UNASSIGNED && Character.getType(c) != Character.PRIVATE_USE
                && Character.getType(c) != Character.LINE_SEPARATOR && Character.getType(c) != Character.PARAGRAPH_SEPARATOR
                && Character.getType(c) != Character.SPACE_SEPARATOR));
        return printable ? found : null;
    }

    static Status.LatestRelease latestRelease(JsonNode release) {
        return Releases.toRelease(Releases.filter(release));
    }

    /** {@code null} unless an object: {@code until} (text or null) and {@code newer_release} (with a non-empty text version). */
    static Status.Maintenance maintenance(JsonNode maintenance) {
        if (maintenance == null || !maintenance.isObject()) return null;
        JsonNode newer = maintenance.get("newer_release");
        String version = Json.text(newer, "version");
        Status.NewerRelease release = version == null || version.isEmpty() ? null
                : new Status.NewerRelease(version, Json.text(newer, "channel"));
        return new Status.Maintenance(Json.text(maintenance, "until"), release);
    }

    /** The licensee: {@code license.customer} with an integer {@code id} (a boolean or text is none); the name or "". */
    static Status.Customer customer(ObjectNode payload) {
        JsonNode found = Json.obj(Json.obj(payload, "license"), "customer");
        Long id = Json.integer(found, "id");
        if (id == null) return null;
        String name = Json.text(found, "name");
        return new Status.Customer(id, name == null ? "" : name);
    }

    private static Map<String, Object> entitlements(ObjectNode payload, Verdict verdict, Instant now) {
        if (!verdict.allowed()) return Map.of();
        JsonNode unverified = payload.get("entitlements");
        if (unverified == null || !unverified.isObject()) {
            Map<String, Object> fromFeatures = new LinkedHashMap<>();
            for (String f : verdict.features()) fromFeatures.put(f, Boolean.TRUE);
            return fromFeatures;
        }
        return entitlementsInForce(unverified, now);
    }

    /** The well-formed entitlements of a verified document whose expiry is after {@code now} (status and lease). */
    static Map<String, Object> entitlementsInForce(JsonNode unverified, Instant now) {
        Map<String, Object> found = new LinkedHashMap<>();
        if (unverified == null || !unverified.isObject()) return found;
        for (Iterator<Map.Entry<String, JsonNode>> it = unverified.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            JsonNode value = entry.getValue().get("value");
            if (!entry.getValue().isObject() || value == null) continue;
            Object typed;
            if (value.isBoolean()) typed = value.booleanValue();
            else if (value.isIntegralNumber() && Json.fitsCanonical(value)) typed = value.longValue();
            else if (value.isTextual()) typed = value.textValue();
            else continue;
            JsonNode expires = entry.getValue().get("expires_at");
            if (expires != null && !expires.isNull()) {
                Instant end = Times.parseOrNull(Json.pyStr(expires));
                if (end == null || !end.isAfter(now)) continue; // an unreadable expiry grants nothing
            }
            found.put(entry.getKey(), typed);
        }
        return found;
    }

    /**
     * The offline decision: clock rollback (on the local clock against local witnesses only), then
     * verification for this installation, then the status rules, at the server's time by the kept offset.
     */
    static Status decideOffline(JsonNode signed, Canonical.Known storedText, Signing.PinnedKeys keys, String product,
            Presented fingerprint, Instant now, Instant lastSeen, long offsetSeconds, Duration rollbackTolerance) {
        if (signed == null || signed.isNull()) return Status.denied("no_document", false, "unknown");
        if (lastSeen != null && now.plus(rollbackTolerance).isBefore(lastSeen)) {
            // The clock was wound back, to stretch a trial or a lease.
            return Status.denied("clock_rollback", false, "clock_rollback");
        }
        Instant at = Times.serverTime(now, offsetSeconds);
        ObjectNode payload;
        try {
            payload = verifyForInstallation(signed, storedText, keys, product, fingerprint, at);
        } catch (InvalidDocument e) {
            return Status.denied("invalid_document", false, "unknown");
        }
        return statusOf(payload, at, false);
    }
}
