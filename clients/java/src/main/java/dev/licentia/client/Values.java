package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The server's small value store, per device or per license: {@code lic.values().get("theme", "light")}.
 * Values are JSON: pass any of null, Boolean, a number, String, List and Map; {@link #get} gives back
 * Boolean, Long (BigInteger beyond 64 bits), BigDecimal, String, and unmodifiable List and Map.
 * Thread-safe.
 */
public final class Values {
    /** Whose value: this installation's, or every installation's of its license. */
    public enum Scope {
        DEVICE("device"),
        LICENSE("license");

        final String word;

        Scope(String word) {
            this.word = word;
        }
    }

    private final Licentia lic;

    Values(Licentia lic) {
        this.lic = lic;
    }

    private static String path(String key) {
        if (key == null || key.isEmpty() || key.length() > 200) throw new ConfigurationException("a value's key is 1-200 characters");
        return "/v1/values/" + URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The device-scoped value saved under {@code key}, or {@code fallback} (may be null) when there is none. */
    public Object get(String key, Object fallback) {
        return get(key, fallback, Scope.DEVICE);
    }

    /** The value saved under {@code key} in {@code scope}, or {@code fallback} (may be null) when there is none. */
    public Object get(String key, Object fallback, Scope scope) {
        Answers.Credential credential = lic.credential();
        JsonNode answer;
        try {
            answer = lic.transport.request(new Transport.Call("GET", path(key), Map.of("scope", scope.word), null, credential));
        } catch (ServerRefusedException e) {
            if (ErrorCodes.UNKNOWN_VALUE.equals(e.code())) return fallback;
            throw e;
        }
        JsonNode value = answer.isObject() ? answer.get("value") : null;
        return value == null ? fallback : Json.toPlain(value);
    }

    /** Save a device-scoped value (null, Boolean, a number, String, List or Map). */
    public void set(String key, Object value) {
        set(key, value, Scope.DEVICE);
    }

    /** Save a value in {@code scope}. */
    public void set(String key, Object value, Scope scope) {
        Answers.Credential credential = lic.credential();
        ObjectNode body = Json.object();
        try {
            body.set("value", Json.mapper().valueToTree(value));
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException("not a JSON value: " + e.getMessage());
        }
        lic.transport.request(new Transport.Call("PUT", path(key), Map.of("scope", scope.word), body, credential));
    }
}
