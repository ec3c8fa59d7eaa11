package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.Hardware;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The Java SDK against a real {@code licentia serve} (SQLite in a temporary data dir). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServerTest {
    private static final String PRODUCT = "my-app";
    private LiveServer server;
    private Path scratch;
    private final AtomicInteger n = new AtomicInteger();

    @BeforeAll
    void start() throws Exception {
        String python = LiveServer.pythonOrSkip();
        server = new LiveServer(python).start();
        scratch = Files.createTempDirectory("licentia-java-apps");
        keys = Json.parse(server.script(Path.of("src/test/resources/setup_server.py"), server.dataDir.toString()));
    }

    private JsonNode keys;
    private final AtomicInteger plain = new AtomicInteger();

    /** A fresh license of the product's default type, issued at start. */
    private String issueKey() {
        return keys.get("plain").get(plain.getAndIncrement()).asText();
    }

    @AfterAll
    void stop() {
        if (server != null) server.close();
        if (scratch != null) LiveServer.delete(scratch);
    }

    /** An installation of its own: a data folder, a fake computer, a user config folder (the escrow). */
    final class App {
        final int i = n.incrementAndGet();
        FakeMachine machine = new FakeMachine(scratch.resolve("machine-" + i));
        Path dataDir = scratch.resolve("data-" + i);
        Path config = scratch.resolve("config-" + i);

        LicentiaBuilder builder() throws Exception {
            return Licentia.builder().serverUrl(server.url).product(PRODUCT).publicKey(server.publicKey(PRODUCT))
                    .dataDir(dataDir).hardware(Hardware.linuxRoot(machine.root)).appVersion("1.4.0")
                    .environment(LiveServer.env(config));
        }

        Licentia client() throws Exception {
            return builder().build();
        }
    }


    @Test
    void aFirstCheckStartsATrialStoresASealed0600StateAndReportsTheInstall() throws Exception {
        Licentia lic = new App().client();
        Status status = lic.check();
        assertTrue(status.allowed());
        assertEquals("trial", status.state());
        assertTrue(status.online());
        assertNotNull(status.device());
        assertTrue(status.saved());
        Path state = lic.dataDir().resolve("state.json");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state)));
        JsonNode saved = Json.parse(Files.readAllBytes(state));
        assertEquals(2, saved.get("format").asInt());
        assertTrue(saved.get("mac").asText().matches("[0-9a-f]{64}"));
        assertEquals(status.device(), saved.get("device").asText());
        assertEquals(0, lic.queue().count(), "the install event was sent and acknowledged");
        String token = Json.parse(saved.get("state").asText()).get("token").asText();
        Status again = lic.check();
        assertEquals(status.device(), again.device());
        String rotated = Json.parse(Json.parse(Files.readAllBytes(state)).get("state").asText()).get("token").asText();
        assertNotEquals(token, rotated, "the token rotated");
    }

    @Test
    void offlineTheStoredDocumentGrantsWhatItSaysWithTheHardwareReadAfresh() throws Exception {
        App app = new App();
        Licentia lic = app.client();
        Status online = lic.check();
        Status offline = lic.check(false);
        assertTrue(offline.allowed());
        assertFalse(offline.online());
        assertEquals(online.state(), offline.state());
        // The same data folder on another computer: the document names other hardware.
        App other = new App();
        other.dataDir = app.dataDir;
        Status copied = other.builder().build().check(false);
        assertFalse(copied.allowed());
        assertEquals("invalid_document", copied.reason());
    }

    @Test
    void anUnreachableServerGivesTheOfflineAnswerAtOnce() throws Exception {
        App app = new App();
        app.client().check();
        Licentia down = app.builder().serverUrl("http://127.0.0.1:" + LiveServer.freePort()).build();
        long started = System.nanoTime();
        Status status = down.check();
        assertTrue(status.allowed());
        assertFalse(status.online());
        assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() < 2500, "a refused connection is not waited on");
    }

    @Test
    void activationRedeemsAKeyAndATypoIsCaughtBeforeAnyCall() throws Exception {
        Licentia lic = new App().client();
        String key = keys.get("named").asText();
        char last = key.charAt(key.length() - 1);
        String typo = key.substring(0, key.length() - 1) + (last == 'A' ? 'B' : 'A');
        assertThrows(InvalidLicenseKeyException.class, () -> lic.activate(typo));
        Status status = lic.activate(key.toLowerCase());
        assertTrue(status.allowed());
        assertEquals("registered", status.state());
        assertTrue(status.hasFeature("pdf"));
        assertNotNull(status.customer());
        assertEquals("Acme GmbH", status.customer().name());
        assertEquals("registered", lic.check(false).state());
        Status freed = lic.deactivate();
        assertEquals("trial", freed.state());
    }

    @Test
    void aReinstallResumesTheInstallationFromTheEscrowAndForgetEndsIt() throws Exception {
        App app = new App();
        Licentia lic = app.client();
        lic.activate(issueKey());
        String device = lic.check().device();
        lic.uninstall(false);
        LiveServer.delete(app.dataDir); // what an uninstaller removes
        Status resumed = app.client().check();
        assertEquals(device, resumed.device());
        assertEquals("registered", resumed.state());
        app.client().uninstall(true);
        LiveServer.delete(app.dataDir);
        assertTrue(Files.notExists(app.config.resolve("licentia/credentials")) || Files.list(app.config.resolve("licentia/credentials")).count() == 0);
    }

    @Test
    void aMoveToAnotherDataFolderKeepsTheLicense() throws Exception {
        App app = new App();
        Licentia old = app.client();
        old.activate(issueKey());
        App moved = new App();
        moved.machine = app.machine;
        moved.config = app.config;
        Licentia lic = moved.client();
        Status status = lic.moveFrom(app.dataDir);
        assertEquals("registered", status.state());
        assertTrue(Files.notExists(app.dataDir.resolve("state.json")));
        assertThrows(ConfigurationException.class, () -> lic.moveFrom(app.dataDir));
    }

    @Test
    void valuesAreKeptPerDevice() throws Exception {
        Licentia lic = new App().client();
        assertEquals("light", lic.values().get("theme", "light"));
        lic.values().set("theme", Map.of("name", "dark", "size", 3));
        Object back = lic.values().get("theme", null);
        assertEquals(Map.of("name", "dark", "size", 3L), back);
    }

    @Test
    void consumptionCountsOnceAndRefusesPastTheLimit() throws Exception {
        Licentia lic = new App().client();
        lic.activate(keys.get("metered").asText());
        Consumption first = lic.consume("renders", 2, "job-1");
        assertEquals(1, first.remaining());
        Consumption replay = lic.consume("renders", 2, "job-1");
        assertTrue(replay.replayed());
        assertEquals(1, replay.remaining());
        QuotaExceededException refused = assertThrows(QuotaExceededException.class, () -> lic.consume("renders", 2));
        assertEquals(ErrorCodes.QUOTA_EXCEEDED, refused.code());
        assertEquals(1, refused.consumption().remaining());
        assertThrows(ConfigurationException.class, () -> lic.consume("no spaces", 1));
    }

    @Test
    void aFloatingSeatIsCheckedOutKeptByHeartbeatsAndReleased() throws Exception {
        String key = keys.get("floating").asText();
        Licentia one = new App().client();
        Licentia two = new App().client();
        try (Lease lease = one.checkout(key)) {
            assertTrue(lease.valid());
            assertEquals(Lease.ACTIVE, lease.state());
            lease.heartbeat();
            assertEquals(1, lease.heartbeats());
            ServerRefusedException full = assertThrows(ServerRefusedException.class, () -> two.checkout(key));
            assertEquals(ErrorCodes.NO_SEAT_AVAILABLE, full.code());
        }
        Lease borrowed = two.borrow(key, 2);
        assertEquals(Lease.BORROWED, borrowed.state());
        // Offline, the borrow is read back from lease.json, verified for this machine.
        App same = new App();
        Licentia offline = Licentia.builder().serverUrl("http://127.0.0.1:" + LiveServer.freePort()).product(PRODUCT)
                .publicKey(server.publicKey(PRODUCT)).dataDir(two.dataDir()).hardware(hardwareOf(two))
                .environment(LiveServer.env(same.config)).build();
        Lease kept = offline.borrow(key, 2);
        assertFalse(kept.online());
        assertTrue(kept.valid());
        borrowed.release();
        assertEquals(Lease.RELEASED, borrowed.state());
    }

    private Hardware hardwareOf(Licentia lic) {
        // The App that built it used a fake machine named after its data folder's number.
        String name = lic.dataDir().getFileName().toString().replace("data-", "machine-");
        return Hardware.linuxRoot(scratch.resolve(name));
    }

    @Test
    void airGappedActivationRoundTripsThroughTheVendorsCli() throws Exception {
        App app = new App();
        Licentia lic = Licentia.builder().serverUrl("http://127.0.0.1:" + LiveServer.freePort()).product(PRODUCT)
                .publicKey(server.publicKey(PRODUCT)).dataDir(app.dataDir).hardware(Hardware.linuxRoot(app.machine.root))
                .environment(LiveServer.env(app.config)).build();
        String request = lic.airGapped().activationRequest(issueKey());
        assertTrue(request.startsWith("-----BEGIN LICENTIA ACTIVATION REQUEST-----"));
        String response = server.cliWithInput(request, "license", "offline-activate", "-");
        Status status = lic.airGapped().installActivation(response);
        assertTrue(status.allowed());
        assertEquals("registered", status.state());
        assertEquals("registered", lic.check(false).state());
        assertThrows(InvalidAnswerException.class, () -> lic.airGapped().installActivation(response), "a response is used once");
        String proof = lic.airGapped().deactivateOffline();
        assertEquals(proof, lic.airGapped().deactivateOffline(), "the same proof again");
        assertFalse(lic.check(false).allowed());
        server.cliWithInput(proof, "license", "offline-deactivate", "-");
    }

    @Test
    void feedbackAndEventsAreSentAndTheQueueEmpties() throws Exception {
        Licentia lic = new App().client();
        lic.check();
        lic.track(EventKinds.UPGRADE, Map.of("from", "1.3.0"));
        String id = lic.feedback("works well", "user@example.com");
        assertNotNull(id);
        assertEquals(0, lic.queue().count());
        assertThrows(ConfigurationException.class, () -> lic.track("clone_suspected", Map.of()));
    }

    @Test
    void oneClientSharedByManyThreadsNeverInterleavesItsState() throws Exception {
        Licentia lic = new App().client();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Status>> checks = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                boolean online = i % 3 != 0;
                checks.add(pool.submit(() -> lic.check(online)));
            }
            String device = null;
            for (Future<Status> f : checks) {
                Status s = f.get();
                if (s.online()) {
                    assertTrue(s.allowed(), s.toString());
                    if (device == null) device = s.device();
                    assertEquals(device, s.device(), "one installation, whatever the interleaving");
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(lic.check(false).allowed(), "the state on disk is whole and sealed");
        assertNull(null);
    }

    // -- a wrong clock on the client's machine (faketime: the JVM reads the clock libfaketime fakes) --------

    private static final String DEAD = "http://127.0.0.1:9"; // nothing listens: the check falls back offline

    private JsonNode runCheck(App app, String shift, String serverUrl) throws Exception {
        ObjectNode arg = Json.object();
        arg.put("serverUrl", serverUrl);
        arg.put("publicKey", server.publicKey(PRODUCT));
        arg.put("dataDir", app.dataDir.toString());
        arg.put("root", app.machine.root.toString());
        arg.put("config", app.config.toString());
        List<String> command = new ArrayList<>();
        if (shift != null) command.addAll(List.of("faketime", "-f", shift));
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xshare:auto",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), ClockRunner.class.getName(),
                Json.writeText(arg)));
        Path out = Files.createTempFile(scratch, "run", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the check finished");
        String text = Files.readString(out).strip();
        assertEquals(0, p.exitValue(), text);
        return Json.parse(text.substring(text.lastIndexOf('\n') + 1));
    }

    private long keptOffset(App app) throws Exception {
        JsonNode outer = Json.parse(Files.readAllBytes(app.dataDir.resolve("state.json")));
        return Json.parse(outer.get("state").asText()).get("clock_offset").asLong();
    }

    private void assumeFaketime() {
        boolean found = false;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            found |= Files.isExecutable(Path.of(dir, "faketime"));
        }
        Assumptions.assumeTrue(found, "faketime is not installed (Debian package faketime): the wrong-clock runs are SKIPPED");
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "a clock {0}: online works, then offline, judged at the server's time")
    @org.junit.jupiter.params.provider.CsvSource({"5 hours behind,-5h,-18000", "2 days behind,-2d,-172800", "5 hours ahead,+5h,18000"})
    void aWrongClockWorksOnlineThenOffline(String label, String shift, long seconds) throws Exception {
        assumeFaketime();
        App here = new App();
        JsonNode online = runCheck(here, shift, server.url);
        assertEquals(List.of(true, true, "trial"), List.of(online.get("allowed").asBoolean(), online.get("online").asBoolean(), online.get("state").asText()));
        long offset = keptOffset(here);
        assertTrue(Math.abs(offset + seconds) <= 5, "the offset kept (" + offset + " s) undoes the clock's " + seconds + " s");
        JsonNode offline = runCheck(here, shift, DEAD);
        assertTrue(offline.get("allowed").asBoolean(), offline.toString());
        assertFalse(offline.get("online").asBoolean());
        assertEquals(online.get("device").asText(), offline.get("device").asText());
        assertTrue(Math.abs(offline.get("daysLeft").asLong() - online.get("daysLeft").asLong()) <= 1);
    }

    @Test
    void aClockWoundBackAfterACheckIsNoticedOffline() throws Exception {
        assumeFaketime();
        App here = new App();
        assertTrue(runCheck(here, "-5h", server.url).get("online").asBoolean());
        assertTrue(runCheck(here, "-5h", DEAD).get("allowed").asBoolean());
        JsonNode rolled = runCheck(here, "-8h", DEAD);
        assertFalse(rolled.get("allowed").asBoolean());
        assertEquals("clock_rollback", rolled.get("reason").asText());
    }

    @Test
    void aClockTwoDaysAheadThenPutRightIsLockedOutOfflineUntilItGoesOnline() throws Exception {
        assumeFaketime();
        App here = new App();
        assertTrue(runCheck(here, "+2d", server.url).get("allowed").asBoolean());
        assertEquals("clock_rollback", runCheck(here, null, DEAD).get("reason").asText());
        assertTrue(runCheck(here, null, server.url).get("online").asBoolean());
        assertTrue(Math.abs(keptOffset(here)) <= 5, "the offset measured on the right clock");
        JsonNode offline = runCheck(here, null, DEAD);
        assertTrue(offline.get("allowed").asBoolean(), offline.toString());
    }

    /** The Python SDK's Escrow with this app's XDG_CONFIG_HOME and no OS credential store: its file. */
    private String pythonEscrow(App app, String code, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(server.python, "-c",
                "import json, sys\nfrom licentia.client.escrow import Escrow\nescrow = Escrow(*sys.argv[1:4])\n" + code));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("XDG_CONFIG_HOME", app.config.toString());
        builder.environment().put("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring");
        builder.environment().put("PYTHONPATH", Path.of("..", "..", "src").toAbsolutePath().normalize().toString());
        Path out = Files.createTempFile(scratch, "py", ".out");
        Process p = builder.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        String text = Files.readString(out).strip();
        assertEquals(0, p.exitValue(), text);
        return text;
    }

    @Test
    void anEntryThePythonSdkWroteIsResumedAndThePythonSdkFindsThisClientsEntry() throws Exception {
        App app = new App();
        Licentia lic = app.client();
        Status first = lic.check();
        JsonNode saved = Json.parse(Files.readAllBytes(app.dataDir.resolve("state.json")));
        String device = saved.get("device").asText();
        String secret = saved.get("secret").asText();
        String[] keys = {server.url, PRODUCT, lic.fingerprint().dataPath()};
        assertEquals(lic.escrow.path().toString(), pythonEscrow(app, "print(escrow.path)", keys));
        assertEquals(List.of(device, secret), Json.toPlain(Json.parse(pythonEscrow(app, "print(json.dumps(escrow.load()))", keys))));
        LiveServer.delete(app.dataDir);
        Files.delete(lic.escrow.path());
        List<String> args = new ArrayList<>(List.of(keys));
        args.addAll(List.of(device, secret));
        pythonEscrow(app, "escrow.save((sys.argv[4], sys.argv[5]))", args.toArray(String[]::new));
        assertTrue(Files.exists(lic.escrow.path()), "the Python SDK wrote its file, not an OS store");
        Status again = app.client().check();
        assertEquals(List.of(true, first.device()), List.of(again.online(), again.device()));
    }
}
