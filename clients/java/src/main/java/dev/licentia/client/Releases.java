package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * A release as the application gets it (from {@code GET /v1/releases/latest} and a status document's
 * {@code latest_release}): only the known fields, each of its type, and a download link only over
 * https. A release is shown to the user, so nothing else of an answer reaches the application.
 */
final class Releases {

    private Releases() {}

    /**
     * The release's known fields, or null unless {@code unverified} is an object with a non-empty
     * text {@code version}. Each field is kept when present and null or of its type; {@code newer}
     * is a boolean, never a number.
     */
    static ObjectNode filter(JsonNode unverified) {
        String version = Json.text(unverified, "version");
        if (version == null || version.isEmpty()) return null;
        ObjectNode out = Json.object();
        out.put("version", version);
        for (String field : List.of("channel", "released_at", "download_url", "notes", "newer")) {
            JsonNode value = unverified.get(field);
            if (value == null) continue;
            if (value.isNull()) {
                out.putNull(field);
            } else if (field.equals("newer")) {
                if (value.isBoolean()) out.put(field, value.booleanValue());
            } else if (value.isTextual()) {
                out.put(field, field.equals("download_url") ? httpsLink(value.textValue()) : value.textValue());
            }
        }
        return out;
    }

    /** The link when it is {@code https://} and something, at most 2000 printable ASCII characters without spaces; else null. */
    static String httpsLink(String url) {
        if (url == null || !url.startsWith("https://") || url.length() <= "https://".length() || url.length() > 2000) return null;
        for (int i = 0; i < url.length(); i++) {
            char c = url.charAt(i);
            if (c <= 0x20 || c > 0x7e) return null;
        }
        return url;
    }

    /** The public value of a filtered release. */
    static Status.LatestRelease toRelease(ObjectNode filtered) {
        if (filtered == null) return null;
        JsonNode newer = filtered.get("newer");
        return new Status.LatestRelease(Json.text(filtered, "version"), Json.text(filtered, "channel"),
                Json.text(filtered, "released_at"), Json.text(filtered, "download_url"), Json.text(filtered, "notes"),
                newer != null && newer.isBoolean() ? newer.booleanValue() : null);
    }
}
