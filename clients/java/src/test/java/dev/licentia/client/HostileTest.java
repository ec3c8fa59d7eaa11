package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.Hardware;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the SDK survives: a server answering garbage, huge or deeply nested bodies, a dribbling
 * server, replays of genuine answers, credentials that are not tokens, and damaged files. No
 * exception escapes {@code check()}, nothing is stored from a refused answer, and nothing is
 * granted beyond what was signed.
 */
class HostileTest {
    @TempDir
    Path tmp;
    TestSigner signer;
    FakeMachine machine;
    FakeServer server;

    @BeforeEach
    void setUp() throws Exception {
        signer = new TestSigner();
        machine = new FakeMachine(tmp.resolve("machine"));
    }

    @AfterEach
    void tearDown() {
        if (server != null) server.close();
    }

    Licentia client(String url) {
        return Licentia.builder().serverUrl(url).product("my-app").publicKey(signer.publicKey)
                .dataDir(tmp.resolve("data")).hardware(Hardware.linuxRoot(machine.root))
                .timeout(Duration.ofMillis(1500)).environment(LiveServer.env(tmp.resolve("config"))).build();
    }

    /** A genuine trial document for the request (its fingerprint and nonce), as the server would sign it. */
    ObjectNode genuine(JsonNode request, String device, String leaseUntil) throws Exception {
        ObjectNode doc = Json.object();
        doc.put("v", 1);
        doc.put("product", "my-app");
        doc.put("device", device);
        doc.put("machine", "mc_1");
        doc.set("components", request.get("fingerprint").get("components"));
        doc.put("data_path", request.get("fingerprint").get("data_path").asText());
        doc.put("min_match", 2);
        doc.put("status", "trial");
        doc.putNull("reason");
        doc.put("allowed", true);
        doc.put("trial_end", Times.toIso(Instant.now().plus(Duration.ofDays(14))));
        doc.putNull("license");
        doc.putArray("features");
        doc.put("issued_at", Times.toIso(Instant.now()));
        doc.put("lease_until", leaseUntil);
        doc.put("grace_days", 7);
        doc.put("usage_report_days", 31);
        doc.put("token", "tok_" + System.nanoTime());
        doc.put("clone_suspected", false);
        ObjectNode release = doc.putObject("latest_release");
        release.put("version", "2.0.0");
        release.put("channel", "stable");
        release.put("download_url", "javascript:alert(1)");
        doc.put("nonce", request.get("nonce").asText());
        ObjectNode answer = Json.object();
        answer.set("signed", signer.sign(doc));
        ObjectNode credential = answer.putObject("credential");
        credential.put("device", device);
        credential.put("secret", "s3cret-" + device);
        return answer;
    }

    FakeServer.Answer ok(JsonNode body) {
        return FakeServer.Answer.json(200, Json.writeText(body));
    }

    FakeServer honest() throws Exception {
        return new FakeServer(r -> {
            if (r.path().equals("/v1/events") || r.path().equals("/v1/feedback")) {
                return FakeServer.Answer.json(200, "{\"accepted\": 1, \"duplicates\": 0}");
            }
            return ok(genuine(r.body(), "dv_1", Times.toIso(Instant.now().plus(Duration.ofDays(7)))));
        });
    }

    @Test
    void anHonestFakeServerIsBelievedAndItsUnsafeReleaseUrlIsNotPassedOn() throws Exception {
        server = honest();
        Status status = client(server.url()).check();
        assertTrue(status.allowed(), status.toString());
        assertTrue(status.online());
        assertEquals("2.0.0", status.latestRelease().version());
        assertNull(status.latestRelease().downloadUrl(), "only an https URL reaches the application");
        assertTrue(server.requests.get(0).userAgent().startsWith("licentia-client-java/" + Licentia.VERSION + " (protocol 1; java "));
        assertEquals("1", server.requests.get(0).protocol(), "the protocol this client speaks, on every request");
        assertTrue(Licentia.VERSION.matches("\\d+\\.\\d+\\.\\d+"), Licentia.VERSION);
    }

    @Test
    void aReplayedGenuineAnswerIsRefusedAndNothingIsStored() throws Exception {
        AtomicReference<ObjectNode> first = new AtomicReference<>();
        server = new FakeServer(r -> {
            if (!r.path().equals("/v1/check")) return FakeServer.Answer.json(200, "{}");
            if (first.get() == null) first.set(genuine(r.body(), "dv_1", Times.toIso(Instant.now().plus(Duration.ofDays(7)))));
            return ok(first.get()); // every later check gets the saved answer back
        });
        Licentia lic = client(server.url());
        assertTrue(lic.check().online());
        byte[] kept = Files.readAllBytes(lic.dataDir().resolve("state.json"));
        Status replayed = lic.check();
        assertFalse(replayed.online(), "the replay is not an answer: the offline status stands");
        assertTrue(replayed.allowed());
        assertArrayEquals(kept, Files.readAllBytes(lic.dataDir().resolve("state.json")), "nothing of the replay was stored");
    }

    @Test
    void garbageHugeAndDeeplyNestedAnswersAreOfflineNeverACrash() throws Exception {
        List<FakeServer.Answer> answers = List.of(
                FakeServer.Answer.json(200, "not json at all"),
                FakeServer.Answer.json(200, "[".repeat(100_000)),
                FakeServer.Answer.json(200, "{\"signed\": " + "{\"a\":".repeat(5000) + "1" + "}".repeat(5001)),
                new FakeServer.Answer(200, new byte[(1 << 20) + 10], 0),
                FakeServer.Answer.json(200, "{\"signed\": {\"document\": {\"product\": \"my-app\"}, \"kid\": \"x\", \"sig\": \"!!\"}}"),
                FakeServer.Answer.json(500, "{}"),
                FakeServer.Answer.json(400, "{\"error\": {\"code\": \"" + "x".repeat(5000) + "\", \"message\": [1]}}"),
                FakeServer.Answer.json(200, "1e99999"),
                FakeServer.Answer.json(200, "{\"signed\": null, \"credential\": {\"device\": \"dv\\r\\nX: y\", \"secret\": \"a\"}}"));
        for (FakeServer.Answer answer : answers) {
            try (FakeServer bad = new FakeServer(r -> answer)) {
                Status status = client(bad.url()).check();
                assertFalse(status.allowed());
                assertFalse(status.online());
                assertEquals("no_document", status.reason());
                assertTrue(Files.notExists(tmp.resolve("data/state.json")) || State.fromBytes(Files.readAllBytes(tmp.resolve("data/state.json"))).credential == null);
            }
        }
    }

    @Test
    void aServerDribblingBytesCannotHoldTheStartPastTheTimeout() throws Exception {
        server = new FakeServer(r -> new FakeServer.Answer(200, "{\"signed\": {}}".repeat(100).getBytes(StandardCharsets.UTF_8), 100));
        long started = System.nanoTime();
        Status status = client(server.url()).check();
        long took = Duration.ofNanos(System.nanoTime() - started).toMillis();
        assertFalse(status.online());
        // The whole answer would take 140 s; the 1.5 s deadline holds (with room for a loaded machine's JVM).
        assertTrue(took < 8000, "took " + took + " ms");
    }

    @Test
    void aCredentialThatIsNotATokenIsNeverTakenNorSentAsAHeader() throws Exception {
        server = new FakeServer(r -> {
            ObjectNode answer = genuine(r.body(), "dv_1", Times.toIso(Instant.now().plus(Duration.ofDays(7))));
            ((ObjectNode) answer.get("credential")).put("secret", "abc\r\nX-Injected: yes");
            return ok(answer);
        });
        Licentia lic = client(server.url());
        Status status = lic.check();
        assertFalse(status.online(), "an answer naming a device the request did not ask for, with no usable credential, is refused");
        assertTrue(Files.notExists(lic.dataDir().resolve("state.json")));
        // A state whose secret holds CR/LF (sealed by someone with the file) is damage, not a header.
        State forged = new State();
        forged.credential = new Answers.Credential("dv_1", "abc\r\nX: y");
        Files.createDirectories(lic.dataDir());
        Files.write(lic.dataDir().resolve("state.json"), forged.toBytes());
        assertTrue(State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json"))).corrupt);
        lic.check();
        for (FakeServer.Request r : server.requests) assertNull(r.authorization(), "no Authorization header was ever sent");
    }

    @Test
    void damagedStateFilesGrantNothingAndNeverThrow() throws Exception {
        server = honest();
        Licentia lic = client(server.url());
        assertTrue(lic.check().allowed());
        Path state = lic.dataDir().resolve("state.json");
        byte[] good = Files.readAllBytes(state);
        List<byte[]> damages = List.of(new byte[0], "garbage".getBytes(StandardCharsets.UTF_8),
                "[".repeat(200_000).getBytes(StandardCharsets.UTF_8), new byte[(1 << 20) + 1],
                new String(good, StandardCharsets.UTF_8).replace("\\\"trial\\\"", "\\\"registered\\\"").getBytes(StandardCharsets.UTF_8),
                new String(good, StandardCharsets.UTF_8).replace("\"format\":2", "\"format\":2.0").getBytes(StandardCharsets.UTF_8),
                java.util.Arrays.copyOf(good, good.length / 2));
        assertTrue(new String(damages.get(4), StandardCharsets.UTF_8).contains("registered"), "the edit took");
        for (byte[] damage : damages) {
            Files.write(state, damage);
            Status status = lic.check(false);
            assertFalse(status.allowed(), "damage #" + damages.indexOf(damage));
            assertTrue(List.of("corrupt_state", "no_document", "invalid_document").contains(status.reason()), status.reason());
        }
        Files.delete(state);
        Files.createDirectory(state); // a directory where the file should be
        assertFalse(lic.check(false).allowed());
    }

    @Test
    void theQueueDropsDamagedEventsAndIgnoresHalfWrittenOnes() throws Exception {
        server = honest();
        Licentia lic = client(server.url());
        lic.check();
        Path events = lic.dataDir().resolve("events");
        Files.createDirectories(events);
        Files.writeString(events.resolve("000000000000001-000000-bad.json"), "{not json");
        Files.writeString(events.resolve(".tmp-abc"), "{\"half\": ");
        lic.track(EventKinds.UPGRADE, java.util.Map.of());
        FlushResult result = lic.flush();
        assertEquals(1, result.sent());
        assertEquals(0, lic.queue().count());
    }

    @Test
    void aDocumentSignedByAnotherKeyOrForAnotherMachineGrantsNothing() throws Exception {
        TestSigner stranger = new TestSigner();
        server = new FakeServer(r -> {
            ObjectNode answer = genuine(r.body(), "dv_1", Times.toIso(Instant.now().plus(Duration.ofDays(7))));
            answer.set("signed", stranger.sign((ObjectNode) answer.get("signed").get("document")));
            return ok(answer);
        });
        assertFalse(client(server.url()).check().allowed());
        server.handler = r -> {
            ObjectNode body = r.body().deepCopy();
            ((ObjectNode) body.get("fingerprint")).put("data_path", "0".repeat(64));
            return ok(genuine(body, "dv_1", Times.toIso(Instant.now().plus(Duration.ofDays(7)))));
        };
        assertFalse(client(server.url()).check().allowed());
    }

    @Test
    void anAnswerThatCannotBeKeptStillAnswersAndSaysSo() throws Exception {
        server = honest();
        Licentia lic = client(server.url());
        // A non-empty directory where state.json goes: no rename can replace it (root ignores file modes).
        Files.createDirectories(lic.dataDir().resolve("state.json").resolve("x"));
        Status status = lic.check();
        assertTrue(status.allowed());
        assertTrue(status.online());
        assertFalse(status.saved(), "verified, but not kept: the flag says so");
        String key = Vectors.section("license_keys").get(0).get("normalized").textValue();
        assertThrows(ConfigurationException.class, () -> lic.activate(key), "activation says it was not kept, never a silent loss");
    }

    @Test
    void queuedEventsSurviveARestartAndALostAnswerIsSentAgainWithTheSameIds() throws Exception {
        server = honest();
        Licentia first = client(server.url());
        first.check();
        List<String> sentIds = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean loseAnswers = new java.util.concurrent.atomic.AtomicBoolean(true);
        FakeServer.Handler honestHandler = server.handler;
        server.handler = r -> {
            if (!r.path().equals("/v1/events")) return honestHandler.answer(r);
            r.body().get("events").forEach(e -> sentIds.add(e.get("id").asText()));
            if (loseAnswers.get()) return new FakeServer.Answer(200, "{}".repeat(50).getBytes(StandardCharsets.UTF_8), 100);
            return FakeServer.Answer.json(200, "{\"accepted\": 1, \"duplicates\": 0}");
        };
        String a = first.track(EventKinds.UPGRADE, java.util.Map.of("n", 1));
        String b = first.track(EventKinds.USAGE, java.util.Map.of());
        FlushResult lost = first.flush(Duration.ofMillis(800)); // the server got them; its answer never came
        assertEquals(0, lost.sent());
        assertEquals(2, first.queue().count(), "nothing leaves the disk before the server acknowledged it");
        // The process ends; the application starts again and sends what is queued.
        loseAnswers.set(false);
        Licentia again = client(server.url());
        FlushResult sent = again.flush();
        assertEquals(2, sent.sent());
        assertEquals(0, again.queue().count());
        assertEquals(java.util.Set.of(a, b), java.util.Set.copyOf(sentIds), "the same ids again: the server counts each once");
    }
}
