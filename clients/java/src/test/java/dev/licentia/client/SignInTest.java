package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Signing the user in by the device flow (RFC 8628): the polling rules (SignInServerTest: against a real server). */
class SignInTest {
    private static final String LEAD = "lead@team.example";

    private static ObjectNode answer() {
        ObjectNode a = Json.object();
        a.put("device_code", "secret-device-code");
        a.put("user_code", "BDFG-HJKM");
        a.put("verification_uri", "https://l.example/portal/device");
        a.put("expires_in", 900);
        a.put("interval", 5);
        return a;
    }

    /** A clock that moves only when the poller sleeps. */
    static final class FakeWaiting implements SignIn.Waiting {
        long now;
        final List<Long> slept = new ArrayList<>();

        @Override
        public long nanoTime() { return now; }

        @Override
        public void sleep(Duration d) {
            slept.add(d.toSeconds());
            now += d.toNanos();
        }
    }

    private static ServerRefusedException refused(String code) {
        return new ServerRefusedException(code, "no", 400, null, Map.of());
    }

    @Test
    void itPollsEveryIntervalAndSlowDownAddsFiveSeconds() {
        FakeWaiting waiting = new FakeWaiting();
        List<String> answers = new ArrayList<>(List.of(ErrorCodes.AUTHORIZATION_PENDING, ErrorCodes.SLOW_DOWN, ErrorCodes.AUTHORIZATION_PENDING));
        List<String> codes = new ArrayList<>();
        Status signedIn = Status.denied("test", true, "registered");
        Status status = SignIn.finish(SignIn.codeOf(answer()), null, deviceCode -> {
            codes.add(deviceCode);
            if (!answers.isEmpty()) throw refused(answers.remove(0));
            return signedIn;
        }, waiting);
        assertEquals(signedIn, status);
        assertEquals(List.of(5L, 5L, 10L, 10L), waiting.slept);
        assertEquals(List.of("secret-device-code", "secret-device-code", "secret-device-code", "secret-device-code"), codes);
    }

    @Test
    void theDeadlineStopsItAndARefusalEndsItWithTheServersCode() {
        FakeWaiting waiting = new FakeWaiting();
        assertThrows(OfflineException.class, () -> SignIn.finish(SignIn.codeOf(answer()), Duration.ofSeconds(12), d -> {
            throw refused(ErrorCodes.AUTHORIZATION_PENDING);
        }, waiting));
        assertEquals(List.of(5L, 5L, 2L), waiting.slept);
        for (String code : List.of(ErrorCodes.ACCESS_DENIED, ErrorCodes.EXPIRED_TOKEN, ErrorCodes.INVALID_GRANT)) {
            ServerRefusedException e = assertThrows(ServerRefusedException.class,
                    () -> SignIn.finish(SignIn.codeOf(answer()), null, d -> { throw refused(code); }, new FakeWaiting()));
            assertEquals(code, e.code());
        }
    }

    @Test
    void theCodeToShowNeverShowsItsDeviceCodeAndAMalformedAnswerIsRefused() {
        SignInCode code = SignIn.codeOf(answer());
        assertFalse(code.toString().contains("secret"));
        assertEquals(code.verificationUri(), code.verificationUriComplete());
        assertEquals(Duration.ofSeconds(5), code.interval());
        Map<String, Object> bad = Map.of("verification_uri", "javascript:alert(1)", "interval", 0, "user_code", "A\nB", "device_code", "",
                "expires_in", "900");
        bad.forEach((field, value) -> {
            ObjectNode a = answer();
            a.set(field, Json.mapper().valueToTree(value));
            assertThrows(InvalidAnswerException.class, () -> SignIn.codeOf(a), field);
        });
    }
}
