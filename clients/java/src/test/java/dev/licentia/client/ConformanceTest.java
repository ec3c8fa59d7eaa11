package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.LinuxHardware;
import dev.licentia.client.hardware.RawHardware;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** The Java SDK against the conformance vectors generated from the Python core. */
class ConformanceTest {
    /** Every section this runner implements; a section of the file not named here fails the suite. */
    private static final Map<String, Function<JsonNode, Stream<DynamicNode>>> SECTIONS = new LinkedHashMap<>();

    @TempDir
    static Path trees;

    static {
        SECTIONS.put("format", v -> Stream.empty());
        SECTIONS.put("about", v -> Stream.empty());
        SECTIONS.put("canonical", ConformanceTest::canonical);
        SECTIONS.put("signatures", ConformanceTest::signatures);
        SECTIONS.put("fingerprints", ConformanceTest::fingerprints);
        SECTIONS.put("license_keys", ConformanceTest::licenseKeys);
        SECTIONS.put("linux_readers", ConformanceTest::linuxReaders);
        SECTIONS.put("offline", ConformanceTest::offline);
        SECTIONS.put("online", ConformanceTest::online);
        SECTIONS.put("credentials", ConformanceMore::credentials);
        SECTIONS.put("latest_release", ConformanceMore::latestRelease);
        SECTIONS.put("last_seen", ConformanceMore::lastSeen);
        SECTIONS.put("entitlements", ConformanceMore::entitlements);
        SECTIONS.put("licensee", ConformanceMore::licensee);
        SECTIONS.put("data_paths", ConformanceMore::dataPaths);
        SECTIONS.put("consumption", ConformanceMore::consumption);
        SECTIONS.put("state", ConformanceMore::state);
        SECTIONS.put("leases", ConformanceMore::leases);
        SECTIONS.put("airgapped", ConformanceMore::airgapped);
        SECTIONS.put("hardware_readers", ConformanceMore::hardwareReaders);
        SECTIONS.put("installer_tickets", ConformanceMore::installerTickets);
        SECTIONS.put("proxy_trail", TrailTest::proxyTrailCases);
    }

    @Test
    void everySectionOfTheFileIsImplemented() {
        Set<String> missing = new TreeSet<>();
        Vectors.all().fieldNames().forEachRemaining(name -> {
            if (!SECTIONS.containsKey(name)) missing.add(name);
        });
        assertEquals(Set.of(), missing, "sections of vectors.json this runner does not implement");
        assertEquals(1, Vectors.section("format").asInt(), "vectors.json format");
    }

    @TestFactory
    Stream<DynamicNode> vectors() {
        List<DynamicNode> nodes = new ArrayList<>();
        Vectors.all().fieldNames().forEachRemaining(name -> {
            Function<JsonNode, Stream<DynamicNode>> runner = SECTIONS.get(name);
            if (runner != null) nodes.add(DynamicContainer.dynamicContainer(name, runner.apply(Vectors.section(name))));
        });
        return nodes.stream();
    }

    static Stream<JsonNode> cases(JsonNode section) {
        List<JsonNode> out = new ArrayList<>();
        section.forEach(out::add);
        return out.stream();
    }

    private static Stream<DynamicNode> canonical(JsonNode section) {
        return cases(section).map(c -> dynamicTest(c.get("name").asText(), () -> {
            String json = c.get("json").textValue();
            if (c.path("error").asBoolean(false)) {
                assertThrows(Json.JsonException.class, () -> Canonical.text(Json.parse(json.getBytes(StandardCharsets.UTF_8))));
            } else {
                assertEquals(c.get("canonical").textValue(), Canonical.text(Json.parse(json.getBytes(StandardCharsets.UTF_8))));
            }
        }));
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.textValue()));
        return out;
    }

    static Instant time(JsonNode node) {
        return node == null || node.isNull() ? null : Times.parse(node.textValue());
    }

    private static Stream<DynamicNode> signatures(JsonNode section) {
        return cases(section).map(c -> dynamicTest(c.get("name").asText(), () -> {
            Signing.PinnedKeys keys = Signing.pin(strings(c.get("pinned")));
            byte[] signed = c.get("signed").textValue().getBytes(StandardCharsets.UTF_8);
            String product = c.get("product").textValue();
            Instant at = time(c.get("at"));
            // Also as a stored state is read: in one pass, the document verified on its own text when canonical.
            JsonText.Read read = JsonText.read(signed, "document");
            if (!c.get("valid").booleanValue()) {
                assertThrows(InvalidDocument.class, () -> Signing.verify(signed, keys, product, at));
                if (read != null) assertThrows(InvalidDocument.class, () -> Signing.verify(read.tree(), read.known(), keys, product, at));
                return;
            }
            assertEquals(c.get("payload_canonical").textValue(), Canonical.text(Signing.verify(signed, keys, product, at)));
            assertEquals(c.get("payload_canonical").textValue(), Canonical.text(Signing.verify(read.tree(), read.known(), keys, product, at)));
        }));
    }

    static Map<String, String> stringMap(JsonNode object) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    private static Stream<DynamicNode> fingerprints(JsonNode section) {
        Stream<DynamicNode> hashes = cases(section.get("hashes")).map(c -> dynamicTest(
                "hash " + c.get("product").textValue() + " " + c.get("name").textValue() + " " + c.get("raw"),
                () -> assertEquals(c.get("hash").textValue(),
                        Fingerprints.componentHash(c.get("product").textValue(), c.get("name").textValue(), c.get("raw").textValue()))));
        Stream<DynamicNode> matching = cases(section.get("matching")).map(c -> dynamicTest("match " + c.get("name").textValue(), () -> {
            Map<String, String> presented = stringMap(c.get("presented"));
            long minMatch = c.get("min_match").longValue();
            assertEquals(c.get("required").intValue(), Fingerprints.requiredMatches(presented, minMatch));
            assertEquals(c.get("matches").booleanValue(), Fingerprints.matches(c.get("stored"), presented, minMatch));
        }));
        Set<String> parts = new TreeSet<>();
        section.fieldNames().forEachRemaining(parts::add);
        Stream<DynamicNode> known = Stream.of(dynamicTest("every part implemented",
                () -> assertEquals(Set.of("hashes", "matching"), parts)));
        return Stream.of(known, hashes, matching).flatMap(s -> s);
    }

    private static Stream<DynamicNode> licenseKeys(JsonNode section) {
        return cases(section).map(c -> dynamicTest(c.get("name").asText(), () -> {
            String input = c.get("input").textValue();
            if (c.get("valid").booleanValue()) assertEquals(c.get("normalized").textValue(), LicenseKeys.normalize(input));
            else assertThrows(InvalidLicenseKeyException.class, () -> LicenseKeys.normalize(input));
        }));
    }

    /** Lay out a case's fake file system tree under a fresh directory. */
    static Path tree(JsonNode c, Path base) {
        try {
            Path root = Files.createTempDirectory(base, "root");
            for (Iterator<Map.Entry<String, JsonNode>> it = c.get("files").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                Path file = root.resolve(e.getKey());
                Files.createDirectories(file.getParent());
                Files.writeString(file, e.getValue().textValue());
            }
            for (JsonNode dir : c.get("dirs")) Files.createDirectories(root.resolve(dir.textValue()));
            JsonNode links = c.get("links");
            if (links != null) {
                for (Iterator<Map.Entry<String, JsonNode>> it = links.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    Path link = root.resolve(e.getKey());
                    Files.createDirectories(link.getParent());
                    Files.createSymbolicLink(link, Path.of(e.getValue().textValue()));
                }
            }
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Stream<DynamicNode> linuxReaders(JsonNode section) {
        return cases(section).map(c -> dynamicTest(c.get("name").asText(), () -> {
            Path root = tree(c, trees);
            RawHardware raw = LinuxHardware.read(root, c.get("data_dir").textValue());
            JsonNode expected = c.get("expected");
            assertEquals(expected.get("machine").textValue(), raw.machine(), "machine");
            assertEquals(expected.get("disk").textValue(), raw.disk(), "disk");
            assertEquals(expected.get("cpu").textValue(), raw.cpu(), "cpu");
            assertEquals(expected.get("mac").textValue(), raw.mac(), "mac");
        }));
    }

    static Documents.Presented presented(JsonNode fingerprint) {
        return new Documents.Presented(stringMap(fingerprint.get("components")), fingerprint.get("data_path").textValue());
    }

    static ObjectNode verdict(Status status) {
        ObjectNode out = Json.object();
        out.put("allowed", status.allowed());
        out.put("state", status.state());
        out.put("reason", status.reason());
        out.put("days_left", status.daysLeft());
        out.set("features", Json.mapper().valueToTree(status.features()));
        return out;
    }

    private static Stream<DynamicNode> offline(JsonNode section) {
        return cases(section).map(c -> dynamicTest(c.get("name").asText(), () -> {
            JsonNode signedText = c.get("signed");
            JsonNode signed = signedText.isNull() ? null : Json.parse(signedText.textValue());
            assertEquals(Canonical.text(c.get("expected")), Canonical.text(verdict(decideOffline(c, signed, null))));
            // As a stored state is read: in one pass, the document verified on its own text when canonical.
            if (signed == null) return;
            JsonText.Read read = JsonText.read(signedText.textValue().getBytes(StandardCharsets.UTF_8), "document");
            assertNotNull(read, "the reader reads what the server signs");
            assertEquals(Canonical.text(c.get("expected")), Canonical.text(verdict(decideOffline(c, read.tree(), read.known()))));
        }));
    }

    private static Status decideOffline(JsonNode c, JsonNode signed, Canonical.Known storedText) {
        return Documents.decideOffline(signed, storedText, Signing.pin(strings(c.get("pinned"))), c.get("product").textValue(),
                presented(c.get("fingerprint")), time(c.get("now")), time(c.get("last_seen")),
                c.get("offset_seconds").longValue(), Duration.ofSeconds(c.get("rollback_tolerance_seconds").longValue()));
    }

    private static Stream<DynamicNode> online(JsonNode section) {
        return cases(section).map(c -> dynamicTest(c.get("name").asText(), () -> {
            JsonNode request = c.get("request");
            JsonNode known = request.get("known");
            Answers.Asked asked = new Answers.Asked(request.get("nonce").textValue(), request.get("device").textValue(),
                    known.isNull() ? null : Json.parse(known.textValue()));
            Answers.Verdict answer = Answers.judge(Json.parse(c.get("answer").textValue()), asked,
                    Signing.pin(strings(c.get("pinned"))), c.get("product").textValue(), presented(c.get("fingerprint")),
                    time(c.get("now")));
            ObjectNode found = Json.object();
            found.put("accepted", answer.accepted());
            found.put("refusal", answer.refusal());
            if (answer.accepted()) {
                found.put("offset_seconds", answer.clockOffset());
                found.set("status", verdict(answer.status()));
            } else {
                found.putNull("offset_seconds");
                found.putNull("status");
                assertTrue(answer.message().endsWith("(" + answer.refusal() + ")"), "the error names the refusal");
            }
            assertEquals(Canonical.text(c.get("expected")), Canonical.text(found));
        }));
    }
}
