package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.Hardware;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * One check in a JVM of its own, for tests that run it on a wrong clock
 * ({@code faketime -f "-5h" java ... ClockRunner '<json>'}: the clock is the process's, so it cannot
 * be moved inside the test's JVM). Prints the status as JSON. The argument:
 * {@code {"serverUrl", "publicKey", "dataDir", "root", "config"}}; an unreachable server makes it an offline check.
 */
public final class ClockRunner {
    private ClockRunner() {}

    public static void main(String[] args) throws Exception {
        JsonNode a = Json.parse(args[0]);
        Licentia lic = Licentia.builder().serverUrl(a.get("serverUrl").asText()).product("my-app")
                .publicKey(a.get("publicKey").asText()).dataDir(Path.of(a.get("dataDir").asText()))
                .hardware(Hardware.linuxRoot(Path.of(a.get("root").asText()))).timeout(Duration.ofSeconds(5))
                .environment(Map.of("XDG_CONFIG_HOME", a.get("config").asText())).build();
        Status status = lic.check();
        ObjectNode out = Json.object();
        out.put("allowed", status.allowed());
        out.put("state", status.state());
        out.put("reason", status.reason());
        out.put("daysLeft", status.daysLeft());
        out.put("online", status.online());
        out.put("device", status.device());
        System.out.println(Json.writeText(out));
    }
}
