package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/** The conformance sections beyond the first eight: each case through the same pure function the client runs. */
final class ConformanceMore {
    private ConformanceMore() {}

    private static String name(JsonNode c) {
        return c.get("name").asText();
    }

    /** Compare as plain values (numbers by value: the vectors write some as floats, canonical JSON has none). */
    static void same(JsonNode expected, JsonNode found) {
        assertEquals(normal(expected), normal(found), () -> "expected " + expected + "\n   found " + found);
    }

    private static Object normal(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isNumber()) return n.decimalValue().stripTrailingZeros().toPlainString();
        if (n.isArray()) {
            List<Object> out = new ArrayList<>();
            n.forEach(x -> out.add(normal(x)));
            return out;
        }
        if (n.isObject()) {
            Map<String, Object> out = new java.util.TreeMap<>();
            n.fields().forEachRemaining(e -> out.put(e.getKey(), normal(e.getValue())));
            return out;
        }
        return n.isTextual() ? "s:" + n.textValue() : n.toString();
    }

    private static JsonNode tree(Object value) {
        return Json.mapper().valueToTree(value);
    }

    private static ArrayNode pair(Answers.Credential c) {
        ArrayNode a = Json.NODES.arrayNode();
        a.add(c.device()).add(c.secret());
        return a;
    }

    static Stream<DynamicNode> credentials(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            Answers.Credential kept = Answers.credentialOf(c.get("credential"), c.get("document_device").textValue());
            ObjectNode found = Json.object();
            found.put("valid", kept != null);
            found.set("credential", kept == null ? Json.NODES.nullNode() : pair(kept));
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> latestRelease(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            ObjectNode found = Json.object();
            JsonNode answer;
            try {
                answer = Json.parse(c.get("answer").textValue().getBytes(StandardCharsets.UTF_8));
                found.put("invalid_answer", false);
                ObjectNode release = Releases.filter(answer);
                found.set("release", release == null ? Json.NODES.nullNode() : release);
            } catch (Json.JsonException e) {
                found.put("invalid_answer", true);
                found.putNull("release");
            }
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> lastSeen(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            String lastSeen = c.get("last_seen").isNull() ? null : c.get("last_seen").textValue();
            Instant now = ConformanceTest.time(c.get("now"));
            Instant issued = ConformanceTest.time(c.get("issued_at"));
            Duration tolerance = Duration.ofSeconds(c.get("rollback_tolerance_seconds").longValue());
            ObjectNode found = Json.object();
            if (issued != null) {
                // Online, an answer bound to its request: the local time of arrival, whatever was kept.
                found.put("rollback", false);
                found.put("last_seen", Times.toIso(now));
                found.put("offset_seconds", Times.clockOffset(issued, now));
            } else {
                boolean rollback = Witnesses.rolledBack(Times.parseOrNull(lastSeen), now, tolerance);
                found.put("rollback", rollback);
                found.put("last_seen", rollback ? lastSeen : Witnesses.seenOffline(lastSeen, now));
                found.putNull("offset_seconds");
            }
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> entitlements(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            Status status = Documents.statusOf((ObjectNode) c.get("payload"), ConformanceTest.time(c.get("now")), false);
            ObjectNode found = Json.object();
            found.put("allowed", status.allowed());
            found.set("entitlements", tree(status.entitlements()));
            found.set("features", tree(status.features()));
            ObjectNode has = found.putObject("has_feature");
            ArrayNode answers = found.putArray("entitlement");
            for (JsonNode q : c.get("queries")) {
                String n = q.get(0).textValue();
                has.put(n, status.hasFeature(n));
                Object value = status.entitlement(n);
                answers.add(Json.NODES.arrayNode().add(n).add(q.get(1)).add(value == null ? q.get(1) : tree(value)));
            }
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> licensee(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            ObjectNode payload = (ObjectNode) c.get("payload");
            ObjectNode found = Json.object();
            Status.Customer customer = Documents.customer(payload);
            found.set("customer", customer == null ? Json.NODES.nullNode() : tree(Map.of("id", customer.id(), "name", customer.name())));
            Status.Maintenance m = Documents.maintenance(payload.get("maintenance"));
            if (m == null) {
                found.putNull("maintenance");
            } else {
                ObjectNode mo = found.putObject("maintenance");
                mo.put("until", m.until());
                if (m.newerRelease() == null) mo.putNull("newer_release");
                else mo.putObject("newer_release").put("version", m.newerRelease().version()).put("channel", m.newerRelease().channel());
            }
            ObjectNode release = Releases.filter(payload.get("latest_release"));
            found.set("latest_release", release == null ? Json.NODES.nullNode() : release);
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> dataPaths(JsonNode section) {
        // A pure function of the OS, the working directory and the path: both OSes' cases run here.
        return ConformanceTest.cases(section).map(c -> dynamicTest(c.get("os").asText() + ": " + name(c), () -> {
            String absolute = DataPaths.absolute(c.get("os").asText().equals("windows"), c.get("cwd").textValue(),
                    c.get("data_dir").textValue());
            ObjectNode found = Json.object();
            found.put("absolute", absolute);
            found.put("data_path", Fingerprints.dataPathHash(c.get("product").textValue(), absolute));
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> consumption(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            Meters.Outcome outcome = Meters.outcome(c.get("meter").textValue(), ConformanceTest.time(c.get("now")),
                    c.get("status").intValue(), c.get("body").textValue().getBytes(StandardCharsets.UTF_8));
            ObjectNode found = Json.object();
            found.put("outcome", outcome.outcome());
            found.put("code", outcome.code());
            found.set("consumption", outcome.consumption() == null ? Json.NODES.nullNode() : tree(outcome.consumption().asMap()));
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> state(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            State s = State.fromBytes(Base64.getDecoder().decode(c.get("base64").textValue()));
            ObjectNode found = Json.object();
            found.put("corrupt", s.corrupt);
            found.set("credential", s.credential == null ? Json.NODES.nullNode() : pair(s.credential));
            found.set("signed", s.signed == null ? Json.NODES.nullNode() : s.signed);
            found.put("token", s.token);
            found.put("install_reported", s.installReported);
            found.put("last_usage_report", s.lastUsageReport);
            found.put("last_seen", s.lastSeen);
            found.put("clock_offset", s.clockOffset);
            found.put("file_clock_skew", s.fileClockSkew);
            found.put("escrowed", s.escrowed);
            found.put("facts_opt_out", s.factsOptOut);
            String dataPath = Fingerprints.dataPathHash(c.get("product").textValue(), DataPaths.absolute(false, "/", c.get("data_dir").textValue()));
            JsonNode document = s.signed == null ? null : s.signed.get("document");
            if (document == null) found.putNull("document_names_this_data_path");
            else found.put("document_names_this_data_path", dataPath.equals(Json.text(document, "data_path")));
            same(c.get("expected"), found);
        }));
    }

    private static ObjectNode leaseView(Leases.View v) {
        ObjectNode o = Json.object();
        o.put("id", v.id());
        o.put("state", v.state());
        o.put("expires_at", Times.toIso(v.expiresAt()));
        o.put("seconds_left", v.secondsLeft());
        o.put("heartbeat_seconds", v.heartbeatSeconds());
        o.set("entitlements", tree(v.entitlements()));
        o.set("features", tree(v.features()));
        return o;
    }

    static Stream<DynamicNode> leases(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(c.get("mode").asText() + ": " + name(c), () -> {
            Signing.PinnedKeys keys = Signing.pin(ConformanceTest.strings(c.get("pinned")));
            Map<String, String> components = ConformanceTest.stringMap(c.get("fingerprint").get("components"));
            String product = c.get("product").textValue();
            Leases.Verdict verdict;
            if (c.get("mode").asText().equals("answer")) {
                JsonNode request = c.get("request");
                JsonNode known = request.get("known");
                Answers.Asked asked = new Answers.Asked(request.get("nonce").textValue(), request.get("device").textValue(),
                        known.isNull() ? null : Json.parse(known.textValue()));
                verdict = Leases.judgeAnswer(Json.parse(c.get("answer").textValue()), asked, keys, product, components);
            } else {
                verdict = Leases.judgeStored(Json.parse(c.get("signed").textValue()), keys, product, components,
                        ConformanceTest.time(c.get("now")), c.get("offset_seconds").longValue());
            }
            ObjectNode found = Json.object();
            found.put("accepted", verdict.accepted());
            found.put("refusal", verdict.refusal());
            found.set("lease", verdict.accepted() ? leaseView(verdict.view()) : Json.NODES.nullNode());
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> airgapped(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(c.get("mode").asText() + ": " + name(c), () -> {
            if (c.get("mode").asText().equals("request")) {
                JsonNode in = c.get("inputs");
                JsonNode appVersion = in.get("app_version");
                String text = AirGapped.requestText(in.get("product").textValue(), in.get("key").textValue(),
                        (ObjectNode) in.get("fingerprint"), in.get("nonce").textValue(), in.get("created_at").textValue(),
                        AirGapFiles.b64d(in.get("box").textValue()), AirGapFiles.b64d(in.get("proof").textValue()),
                        appVersion.isNull() ? null : appVersion.textValue(), in.get("os").textValue());
                assertEquals(c.get("expected").get("text").textValue(), text);
                return;
            }
            List<AirGapped.Pending> pending = new ArrayList<>();
            for (JsonNode p : c.get("pending")) pending.add(new AirGapped.Pending(p.get("nonce").textValue(), p.get("box").textValue()));
            Instant at = Times.serverTime(ConformanceTest.time(c.get("now")), c.get("offset_seconds").longValue());
            AirGapped.Opened opened = AirGapped.openResponse(c.get("response").textValue(), c.get("product").textValue(),
                    Signing.pin(ConformanceTest.strings(c.get("pinned"))), ConformanceTest.presented(c.get("fingerprint")), pending, at);
            ObjectNode found = Json.object();
            found.put("accepted", opened.refusal() == null);
            found.put("refusal", opened.refusal());
            found.set("credential", opened.credential() == null ? Json.NODES.nullNode() : pair(opened.credential()));
            found.put("activation", opened.activation());
            found.set("status", opened.refusal() == null ? ConformanceTest.verdict(Documents.statusOf(opened.payload(), at, false)) : Json.NODES.nullNode());
            same(c.get("expected"), found);
        }));
    }

    static Stream<DynamicNode> hardwareReaders(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(c.get("os").asText() + ": " + name(c), () -> {
            JsonNode r = c.get("recorded");
            JsonNode node = r.get("node");
            Long n = node == null || node.isNull() ? null : node.longValue();
            dev.licentia.client.hardware.RawHardware raw;
            String volume = null;
            if (c.get("os").asText().equals("macos")) {
                raw = dev.licentia.client.hardware.MacHardware.hardware(text(r, "ioreg"), text(r, "machine"), text(r, "processor"), n);
            } else {
                List<String> cpu = new ArrayList<>();
                r.get("cpu").forEach(v -> cpu.add(v.isNull() ? null : v.textValue()));
                dev.licentia.client.hardware.WindowsHardware.Reading reading = dev.licentia.client.hardware.WindowsHardware.hardware(
                        text(r, "machine_guid"), r.get("volume_serial").longValue(), cpu, text(r, "machine"), text(r, "processor"), n,
                        text(c, "data_dir"), text(c, "cwd"));
                raw = reading.raw();
                volume = reading.volume();
            }
            ObjectNode found = Json.object();
            found.put("machine", raw.machine());
            found.put("disk", raw.disk());
            found.put("cpu", raw.cpu());
            found.put("mac", raw.mac());
            found.put("volume", volume);
            same(c.get("expected"), found);
        }));
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.textValue();
    }

    static Stream<DynamicNode> installerTickets(JsonNode section) {
        return ConformanceTest.cases(section).map(c -> dynamicTest(name(c), () -> {
            String problem = InstallerTickets.problem(Base64.getDecoder().decode(c.get("file_base64").textValue()));
            ObjectNode found = Json.object();
            found.put("send", problem == null);
            found.put("problem", problem);
            same(c.get("expected"), found);
        }));
    }
}
