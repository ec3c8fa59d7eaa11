package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.Hardware;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A wrong local clock inside the process, through the injectable {@link java.time.Clock}: every rule
 * that reads the time, moved without sleeping. The same rules on a real wrong clock ({@code faketime},
 * which the JVM honours) run against a real server in {@link ServerTest}.
 */
class ClockTest {
    /** A clock that moves only when told to. */
    static final class ManualClock extends Clock {
        Instant now;

        ManualClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @TempDir
    Path tmp;
    TestSigner signer;
    FakeMachine machine;
    FakeServer server;
    Instant trialEnd;

    @BeforeEach
    void setUp() throws Exception {
        signer = new TestSigner();
        machine = new FakeMachine(tmp.resolve("machine"));
        trialEnd = Instant.now().plus(Duration.ofDays(14));
        server = new FakeServer(r -> {
            if (!r.path().equals("/v1/check")) return FakeServer.Answer.json(200, "{}");
            ObjectNode doc = Json.object();
            doc.put("v", 1);
            doc.put("product", "my-app");
            doc.put("device", "dv_1");
            doc.put("machine", "mc_1");
            doc.set("components", r.body().get("fingerprint").get("components"));
            doc.put("data_path", r.body().get("fingerprint").get("data_path").asText());
            doc.put("status", "trial");
            doc.put("trial_end", Times.toIso(trialEnd));
            doc.put("issued_at", Times.toIso(Instant.now())); // the server's clock is right
            doc.put("lease_until", Times.toIso(Instant.now().plus(Duration.ofDays(7))));
            doc.put("grace_days", 7);
            doc.put("token", "t" + System.nanoTime());
            doc.put("nonce", r.body().get("nonce").asText());
            ObjectNode answer = Json.object();
            answer.set("signed", signer.sign(doc));
            answer.putObject("credential").put("device", "dv_1").put("secret", "s3cret");
            return FakeServer.Answer.json(200, Json.writeText(answer));
        });
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    Licentia client(Clock clock) {
        return Licentia.builder().serverUrl(server.url()).product("my-app").publicKey(signer.publicKey)
                .dataDir(tmp.resolve("data")).hardware(Hardware.linuxRoot(machine.root)).clock(clock)
                .environment(LiveServer.env(tmp.resolve("config"))).build();
    }

    @Test
    void aClockWoundBackPastTheToleranceGrantsNothingOffline() {
        ManualClock clock = new ManualClock(Instant.now());
        Licentia lic = client(clock);
        assertTrue(lic.check().allowed());
        clock.now = clock.now.minus(Duration.ofDays(3));
        Status status = lic.check(false);
        assertFalse(status.allowed());
        assertEquals("clock_rollback", status.state());
        clock.now = clock.now.plus(Duration.ofDays(3)).plus(Duration.ofMinutes(30));
        assertTrue(lic.check(false).allowed(), "the clock put right: allowed again");
    }

    @Test
    void aClockConstantlyHoursBehindWorksOfflineAtTheServersTime() {
        ManualClock clock = new ManualClock(Instant.now().minus(Duration.ofHours(5)));
        Licentia lic = client(clock);
        Status online = lic.check();
        assertTrue(online.allowed());
        clock.now = clock.now.plus(Duration.ofHours(1));
        Status offline = lic.check(false);
        assertTrue(offline.allowed(), offline.toString());
        assertEquals(online.daysLeft(), offline.daysLeft(), "judged at the server's time, not five hours earlier");
    }

    @Test
    void offlineTheTrialEndsWhenTheTrueTimePassesItsEnd() {
        ManualClock clock = new ManualClock(Instant.now());
        Licentia lic = client(clock);
        lic.check();
        // Fifteen days later by the true time, the trial has ended, even though the lease (7 days) and
        // grace (7 days) have too: the status is the trial's end.
        clock.now = clock.now.plus(Duration.ofDays(15));
        Status status = lic.check(false);
        assertFalse(status.allowed());
    }

    @Test
    void aClockThatRanDaysAheadAndWasPutRightIsHealedByTheNextBoundAnswer() {
        ManualClock clock = new ManualClock(Instant.now().plus(Duration.ofDays(10)));
        Licentia lic = client(clock);
        assertTrue(lic.check().allowed(), "a bound answer is judged at the server's time");
        clock.now = Instant.now();
        assertEquals("clock_rollback", lic.check(false).state(), "offline, the local witnesses say the clock went back");
        assertTrue(lic.check().online());
        Status healed = lic.check(false);
        assertTrue(healed.allowed(), "after a bound answer, the witnesses are the server's time again: " + healed);
    }
}
