package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.licentia.client.hardware.Hardware;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Signing the user in against a real {@code licentia serve}, the person's decision made as the portal makes it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SignInServerTest {
    private static final String LEAD = "lead@team.example";
    private LiveServer server;
    private Path scratch;
    private final AtomicInteger n = new AtomicInteger();

    @BeforeAll
    void start() throws Exception {
        String python = LiveServer.pythonOrSkip();
        server = new LiveServer(python, Map.of("LICENTIA_DEVICE_POLL_SECONDS", "1")).start();
        scratch = Files.createTempDirectory("licentia-java-signin");
        server.cli("policy", "create", "my-app", "Team", "--set", "seat_unit=user", "--set", "max_devices=2", "--set", "machines_per_user=2");
        server.cli("license", "issue", "--product", "my-app", "--email", LEAD, "--policy", "Team");
    }

    @AfterAll
    void stop() {
        if (server != null) server.close();
        if (scratch != null) LiveServer.delete(scratch);
    }

    Licentia app() throws Exception {
        int i = n.incrementAndGet();
        FakeMachine machine = new FakeMachine(scratch.resolve("machine-" + i));
        return Licentia.builder().serverUrl(server.url).product("my-app").publicKey(server.publicKey("my-app"))
                .dataDir(scratch.resolve("data-" + i)).hardware(Hardware.linuxRoot(machine.root))
                .environment(LiveServer.env(scratch.resolve("config-" + i))).build();
    }

    void decide(String action, String userCode, String email) {
        try {
            server.script(Path.of("../testing/decide_sign_in.py"), server.dataDir.resolve("licentia.db").toString(), action,
                    userCode, email);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void thePersonConfirmsTheCodeAndTheStatusNamesThemOfflineToo() throws Exception {
        Licentia lic = app();
        assertNull(lic.check().user());
        SignInCode code = lic.beginSignIn();
        assertEquals(9, code.userCode().length());
        assertTrue(code.verificationUri().endsWith("/portal/device") && code.verificationUriComplete().contains("?code="));
        CompletableFuture<Void> decided = CompletableFuture.runAsync(() -> decide("approve", code.userCode(), LEAD)); // polled meanwhile
        Status status = lic.finishSignIn(code, Duration.ofSeconds(60));
        decided.join();
        assertEquals(List.of("registered", LEAD, true, true), List.of(status.state(), status.user(), status.allowed(), status.online()));
        Status offline = lic.check(false);
        assertEquals(List.of("registered", LEAD), List.of(offline.state(), offline.user()));
        assertEquals(LEAD, lic.check().user());
        assertFalse(Files.readString(lic.dataDir().resolve("state.json")).contains("\"device_code\""));

        // The one-call form, on a second computer of the same person.
        Licentia desktop = app();
        List<String> shown = new ArrayList<>();
        Status again = desktop.signIn(c -> {
            shown.add(c.userCode());
            decide("approve", c.userCode(), LEAD);
        }, Duration.ofSeconds(60));
        assertEquals(LEAD, again.user());
        assertEquals(1, shown.size());
    }

    @Test
    void aRefusedSignInIsAccessDeniedAnExpiredOneExpiredTokenAndTheAppStaysAsItWas() throws Exception {
        Licentia lic = app();
        lic.check();
        SignInCode code = lic.beginSignIn();
        decide("deny", code.userCode(), LEAD);
        assertEquals(ErrorCodes.ACCESS_DENIED,
                assertThrows(ServerRefusedException.class, () -> lic.finishSignIn(code, Duration.ofSeconds(60))).code());
        SignInCode late = lic.beginSignIn();
        decide("expire", late.userCode(), "");
        assertEquals(ErrorCodes.EXPIRED_TOKEN,
                assertThrows(ServerRefusedException.class, () -> lic.finishSignIn(late, Duration.ofSeconds(60))).code());
        Status status = lic.check();
        assertEquals("trial", status.state());
        assertNull(status.user());
    }
}
