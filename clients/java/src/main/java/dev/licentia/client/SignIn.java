package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Signing the application's user in: the OAuth 2.0 device authorization grant (RFC 8628), as the
 * Python SDK's {@code licentia.client.signin} does it.
 *
 * <p>For a license whose seats are named users. The application asks the server for a code
 * ({@link #begin}), shows it with the portal's address, and polls ({@link #finish}) while the person
 * confirms it in their browser; once they did, the answer is the signed status document, now naming the
 * user ({@link Status#user()}), verified, bound to the poll's nonce and stored as every check's answer
 * is. The device code is this installation's alone (the server checks its credential at each poll):
 * never shown, logged nor written to disk.
 */
final class SignIn {
    /** What a {@code slow_down} answer adds to the interval (RFC 8628 section 3.5). */
    static final Duration SLOW_DOWN_STEP = Duration.ofSeconds(5);
    private static final Pattern PAGE = Pattern.compile("^https?://[\\x21-\\x7e]+$");
    private static final Pattern SHOWN = Pattern.compile("^[\\x20-\\x7e]{1,20}$");

    private SignIn() {}

    /** One poll of {@code /v1/device/token} with the device code: the status, or a refusal. */
    interface Poll {
        Status poll(String deviceCode);
    }

    /** How the wait passes: the real clock and {@link Thread#sleep} by default (tests pass their own). */
    interface Waiting {
        /** A monotonic time in nanoseconds. */
        long nanoTime();

        void sleep(Duration d) throws InterruptedException;
    }

    static final Waiting REAL = new Waiting() {
        @Override
        public long nanoTime() { return System.nanoTime(); }

        @Override
        public void sleep(Duration d) throws InterruptedException {
            if (!d.isZero()) Thread.sleep(d.toMillis());
        }
    };

    static SignInCode begin(Licentia lic) {
        Answers.Credential credential = lic.credential();
        ObjectNode body = Json.object();
        body.put("product", lic.product);
        return codeOf(lic.transport.request(Transport.Call.post("/v1/device/authorize", body, credential), lic.transport.timeout));
    }

    private static long lifetime(JsonNode answer, String field) {
        Long n = Json.integer(answer, field);
        if (n == null || n <= 0 || n > 86_400) throw new InvalidAnswerException("the sign-in answer has no lifetime or interval");
        return n;
    }

    private static String page(String value) {
        if (value == null || !PAGE.matcher(value).matches()) throw new InvalidAnswerException("the sign-in answer names no web page");
        return value;
    }

    /** The server's answer to {@code POST /v1/device/authorize}, checked field by field. */
    static SignInCode codeOf(JsonNode unverified) {
        if (unverified == null || !unverified.isObject()) throw new InvalidAnswerException("the sign-in answer is not an object");
        String code = Json.text(unverified, "user_code");
        if (code == null || !SHOWN.matcher(code).matches()) throw new InvalidAnswerException("the sign-in answer has no code to show");
        String deviceCode = Json.text(unverified, "device_code");
        if (deviceCode == null || deviceCode.isEmpty() || deviceCode.length() > 100) {
            throw new InvalidAnswerException("the sign-in answer has no device code");
        }
        long expiresIn = lifetime(unverified, "expires_in");
        long interval = lifetime(unverified, "interval");
        String uri = page(Json.text(unverified, "verification_uri"));
        String complete = unverified.has("verification_uri_complete") ? page(Json.text(unverified, "verification_uri_complete")) : uri;
        return new SignInCode(code, uri, complete, Duration.ofSeconds(expiresIn), Duration.ofSeconds(interval), deviceCode);
    }

    /** One poll: answered as a check is (a signed status bound to this poll's nonce), verified and stored the same way. */
    static Status poll(Licentia lic, String deviceCode) {
        return lic.locked(() -> {
            ObjectNode extra = Json.object();
            extra.put("device_code", deviceCode);
            return DeviceCalls.call(lic, "/v1/device/token", lic.stateFile.load(), Licentia.deadlineAfter(lic.transport.timeout), extra);
        });
    }

    /**
     * Poll every interval ({@link #SLOW_DOWN_STEP} more after each {@code slow_down}) until the person
     * confirmed; {@code timeout} null: the code's lifetime and one interval.
     */
    static Status finish(SignInCode code, Duration timeout, Poll poll, Waiting waiting) {
        long giveUp = waiting.nanoTime() + (timeout != null ? timeout : code.expiresIn().plus(code.interval())).toNanos();
        Duration interval = code.interval();
        while (true) {
            long left = giveUp - waiting.nanoTime();
            try {
                waiting.sleep(Duration.ofNanos(Math.max(0, Math.min(interval.toNanos(), left))));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OfflineException("the sign-in was interrupted", e);
            }
            if (waiting.nanoTime() - giveUp >= 0) throw new OfflineException("the sign-in was not confirmed in time");
            try {
                return poll.poll(code.deviceCode());
            } catch (ServerRefusedException e) {
                if (ErrorCodes.SLOW_DOWN.equals(e.code())) interval = interval.plus(SLOW_DOWN_STEP);
                else if (!ErrorCodes.AUTHORIZATION_PENDING.equals(e.code())) throw e;
            } catch (OfflineException e) {
                // A network blip while waiting (nothing of an unverified answer is kept): keep polling until the deadline.
                if (waiting.nanoTime() - giveUp >= 0) throw e;
            }
        }
    }
}
