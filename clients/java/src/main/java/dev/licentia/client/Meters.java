package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Metered use: {@code lic.consume("renders", 3)} ({@code POST /v1/consume}). The server counts; the
 * SDK only asks. Each consumption carries an idempotency key chosen once, so retries after a
 * network error (the answer may have been lost after the server counted) are counted once. A refusal
 * past the limit is {@link QuotaExceededException} with the figures. Same rules as the Python SDK.
 */
final class Meters {
    private static final Pattern METER_NAME = Pattern.compile("^[A-Za-z][A-Za-z0-9_.-]{0,63}$");
    private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("^[\\x21-\\x7e]{1,64}$");
    static final long MAX_AMOUNT = (1L << 53) - 1;
    private static final int ATTEMPTS = 3;

    private Meters() {}

    /** What one answer to a consumption means: the contract's {@code outcome} words. */
    record Outcome(String outcome, String code, Consumption consumption, ServerRefusedException refusal) {}

    /**
     * Read one answer to {@code POST /v1/consume} ({@code status} and body): {@code consumed},
     * {@code invalid_answer}, {@code offline} (5xx: retried with the same key), {@code quota_exceeded}
     * (with the figures, or nothing left from {@code now}), {@code check_and_retry} (a stale token or a
     * voided credential) or {@code refused}. Pure: the conformance vectors' {@code consumption} cases.
     */
    static Outcome outcome(String meter, Instant now, int status, byte[] body) {
        if (status >= 500) return new Outcome("offline", null, null, null);
        if (status >= 400) {
            ServerRefusedException e = Transport.refusal(status, body, null);
            if (ErrorCodes.QUOTA_EXCEEDED.equals(e.code())) {
                return new Outcome("quota_exceeded", e.code(), figures(e, meter, now), e);
            }
            if (ErrorCodes.STALE_TOKEN.equals(e.code()) || ErrorCodes.INVALID_CREDENTIAL.equals(e.code())) {
                return new Outcome("check_and_retry", e.code(), null, e);
            }
            return new Outcome("refused", e.code(), null, e);
        }
        try {
            return new Outcome("consumed", null, consumptionOf(Json.parse(body)), null);
        } catch (Json.JsonException | InvalidAnswerException e) {
            return new Outcome("invalid_answer", null, null, null);
        }
    }

    static Consumption consume(Licentia lic, String meter, long amount, String idempotencyKey) {
        if (meter == null || !METER_NAME.matcher(meter).matches()) throw new ConfigurationException("not a meter name: " + meter);
        if (amount < 0 || amount > MAX_AMOUNT) throw new ConfigurationException("the amount is a whole number from 0, not " + amount);
        String key = idempotencyKey != null ? idempotencyKey : UUID.randomUUID().toString().replace("-", "");
        if (!IDEMPOTENCY_KEY.matcher(key).matches()) {
            throw new ConfigurationException("an idempotency key is 1-64 printable ASCII characters without spaces");
        }
        long deadline = Licentia.deadlineAfter(lic.transport.timeout.multipliedBy(ATTEMPTS));
        boolean refreshed = false;
        for (int attempt = 1; ; attempt++) {
            if (Licentia.millisLeft(deadline) <= 0) throw new OfflineException("no time left before the timeout");
            Answers.Credential credential = lic.credential();
            ObjectNode body = Json.object();
            body.put("meter", meter);
            body.put("amount", amount);
            body.put("token", lic.locked(() -> lic.stateFile.load().token));
            body.put("idempotency_key", key);
            Transport.Raw raw;
            try {
                raw = lic.transport.exchange(Transport.Call.post("/v1/consume", body, credential),
                        Duration.ofMillis(Licentia.millisLeft(deadline)));
            } catch (OfflineException e) {
                if (attempt >= ATTEMPTS || Licentia.millisLeft(deadline) <= 0) throw e;
                continue; // the same key: counted once even if the lost answer had been counted
            }
            Outcome outcome = outcome(meter, lic.now(), raw.status(), raw.body());
            switch (outcome.outcome()) {
                case "consumed":
                    return outcome.consumption();
                case "quota_exceeded":
                    throw new QuotaExceededException(outcome.consumption(), outcome.refusal().serverMessage());
                case "check_and_retry":
                    if (refreshed) throw outcome.refusal();
                    // Another process of this installation rotated the token (or the secret was replaced):
                    // one online check brings the live ones.
                    refreshed = true;
                    lic.check();
                    continue;
                case "refused":
                    throw outcome.refusal();
                case "offline":
                    if (attempt >= ATTEMPTS || Licentia.millisLeft(deadline) <= 0) throw new OfflineException("server error " + raw.status());
                    continue;
                default:
                    throw new InvalidAnswerException("the server's answer to a consumption is malformed");
            }
        }
    }

    private static long whole(JsonNode node, String field) {
        Long value = Json.integer(node, field);
        if (value == null || value < 0 || value > MAX_AMOUNT) throw new IllegalArgumentException(field);
        return value;
    }

    /** The server's figures, checked field by field; anything else is {@link InvalidAnswerException}. */
    static Consumption consumptionOf(JsonNode unverified) {
        try {
            JsonNode meter = unverified.get("meter");
            JsonNode period = unverified.get("period");
            JsonNode end = unverified.get("period_end");
            if (meter == null || period == null || end == null || !unverified.has("period_start")) throw new IllegalArgumentException();
            Instant start = Times.parse(Json.pyStr(unverified.get("period_start")));
            return new Consumption(Json.pyStr(meter), whole(unverified, "used"), whole(unverified, "limit"),
                    whole(unverified, "remaining"), Json.pyStr(period), start, end.isNull() ? null : Times.parse(Json.pyStr(end)),
                    Json.isTrue(unverified, "replayed"));
        } catch (RuntimeException e) {
            throw new InvalidAnswerException("the server's answer to a consumption is malformed");
        }
    }

    private static Consumption figures(ServerRefusedException e, String meter, Instant now) {
        ObjectNode node = Json.mapper().valueToTree(e.details());
        if (!node.has("meter")) node.put("meter", meter);
        try {
            return consumptionOf(node);
        } catch (InvalidAnswerException bad) {
            // A refusal without readable figures still says: nothing left.
            return new Consumption(meter, 0, 0, 0, "unknown", now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS), null, false);
        }
    }
}
