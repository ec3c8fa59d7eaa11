package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.licentia.client.hardware.Hardware;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The proxy-log trail: the {@code proxy_trail} section of the conformance vectors (run by
 * ConformanceTest; from conformance/vectors-pending.json here while pending), and against a real server through
 * a recording proxy: GETs before the POST, recorded once, never the key.
 */
class TrailTest {
    static final Path PENDING = Vectors.FILE.resolveSibling("vectors-pending.json");

    private static JsonNode pending() throws Exception {
        return Json.parse(Files.readAllBytes(PENDING));
    }

    @Test
    void everyPendingSectionIsImplemented() throws Exception {
        Set<String> missing = new TreeSet<>();
        pending().fieldNames().forEachRemaining(name -> {
            if (!Set.of("format", "about", "proxy_trail").contains(name)) missing.add(name);
        });
        assertEquals(Set.of(), missing, "sections of vectors-pending.json this runner does not implement");
    }

    /** The section's cases, run here from vectors-pending.json while it is pending, by ConformanceTest from vectors.json. */
    static Stream<DynamicNode> proxyTrailCases(JsonNode section) {
        List<DynamicNode> tests = new ArrayList<>();
        for (JsonNode c : section) {
            tests.add(DynamicTest.dynamicTest(c.get("name").textValue(), () -> {
                JsonNode expected = c.get("expected");
                if (c.get("kind").textValue().equals("targets")) {
                    List<String> got = Trail.targets(c.get("product").textValue(), c.get("mode").textValue(),
                            c.get("event_id").textValue(), c.get("fields"));
                    List<String> want = new ArrayList<>();
                    expected.get("targets").forEach(t -> want.add(t.textValue()));
                    assertEquals(want, got);
                    return;
                }
                ObjectNode payload = Json.object();
                payload.put("usage_report_once", true);
                payload.set("usage_report_days", c.get("usage_report_days"));
                if (!c.get("registered_at").isNull()) payload.set("registered_at", c.get("registered_at"));
                String last = c.get("last_usage_report").isNull() ? null : c.get("last_usage_report").textValue();
                boolean due = Trail.usageDue(payload, last, Times.parse(c.get("now").textValue()));
                assertEquals(expected.get("send").booleanValue(), due);
            }));
        }
        assertTrue(tests.size() > 20);
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicNode> pendingProxyTrail() throws Exception {
        JsonNode section = pending().get("proxy_trail");
        return section == null ? Stream.empty() : proxyTrailCases(section);
    }

    @Test
    void theTrailGoesBeforeEachPostAndIsRecordedOnceWithoutASecret() throws Exception {
        String python = LiveServer.pythonOrSkip();
        Path scratch = Files.createTempDirectory("licentia-java-trail");
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        HttpServer proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        try (LiveServer server = new LiveServer(python).start()) {
            server.cli("product", "facts", "my-app", "--enable");
            server.cli("product", "trail", "my-app", "--on");
            String key = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c").strip();
            proxy.createContext("/", exchange -> {
                String target = exchange.getRequestURI().getRawPath()
                        + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery());
                seen.add(exchange.getRequestMethod() + " " + target);
                HttpURLConnection up = (HttpURLConnection) URI.create(server.url + target).toURL().openConnection();
                up.setRequestMethod(exchange.getRequestMethod());
                exchange.getRequestHeaders().forEach((name, values) -> {
                    if (!name.equalsIgnoreCase("Host") && !name.equalsIgnoreCase("Content-Length")) {
                        values.forEach(v -> up.addRequestProperty(name, v));
                    }
                });
                byte[] sent = exchange.getRequestBody().readAllBytes();
                if (sent.length > 0) {
                    up.setDoOutput(true);
                    try (OutputStream out = up.getOutputStream()) {
                        out.write(sent);
                    }
                }
                int status = up.getResponseCode();
                byte[] got;
                try (InputStream in = status >= 400 ? up.getErrorStream() : up.getInputStream()) {
                    got = in == null ? new byte[0] : in.readAllBytes();
                }
                String type = up.getContentType();
                if (type != null) exchange.getResponseHeaders().set("Content-Type", type);
                exchange.sendResponseHeaders(status, got.length == 0 ? -1 : got.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(got);
                }
            });
            proxy.start();
            String proxyUrl = "http://127.0.0.1:" + proxy.getAddress().getPort();
            Licentia lic = Licentia.builder().serverUrl(proxyUrl).product("my-app").publicKey(server.publicKey("my-app"))
                    .dataDir(scratch.resolve("data")).hardware(Hardware.linuxRoot(new FakeMachine(scratch.resolve("machine")).root))
                    .appVersion("1.4 beta").facts(List.of("user_name")).trackers(List.of("R&D = 100%"))
                    .environment(LiveServer.env(scratch.resolve("config"))).build();
            Status first = lic.check();
            lic.activate(key);
            lic.check();
            List<String> lines = new ArrayList<>(seen);
            int lastPost = lines.lastIndexOf("POST /v1/events");
            Pattern shape = Pattern.compile("^GET /v1/trail\\?p=my-app&m=(install|usage)&i=([0-9a-f]+)&n=1&version=1\\.4%20beta&.*"
                    + "&tracker_1=R%26D%20%3D%20100%25&end=1$");
            Set<String> modes = new TreeSet<>();
            String installId = null;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (!line.startsWith("GET /v1/trail")) continue;
                Matcher m = shape.matcher(line);
                assertTrue(m.matches(), line);
                assertTrue(i < lastPost, "the GET before the POST");
                assertFalse(line.contains(key.substring(0, 5)) || line.contains(first.device()), line);
                modes.add(m.group(1));
                if (m.group(1).equals("install")) installId = m.group(2);
            }
            assertEquals(Set.of("install", "usage"), modes, String.join("\n", lines));
            JsonNode report = Json.parse(server.cli("evidence", "--device", first.device(), "--format", "json")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            int installs = 0;
            for (JsonNode event : report.get("document").get("events")) {
                if (!"install".equals(Json.text(event, "kind"))) continue;
                installs++;
                assertEquals("R&D = 100%", event.get("trail").get("fields").get("tracker_1").textValue());
            }
            assertEquals(1, installs);
            assertTrue(installId != null);
        } finally {
            proxy.stop(0);
            LiveServer.delete(scratch);
        }
    }
}
