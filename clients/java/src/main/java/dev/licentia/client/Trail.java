package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The proxy-log trail and the usage reports' schedule, as the signed status document asks
 * (docs/web-api.md, "The proxy-log trail"; the Python SDK's client/trail.py and core/trail.py).
 *
 * <p>With {@code "proxy_trail": true} in the stored signed document, each install, register and usage
 * event goes first as plain GETs whose query carries its version and facts (never the license key or
 * the credential), then in its POST as always. The POST is the record: a failed GET is ignored, and
 * the GETs take at most half of the time left to the flush. With {@code "usage_report_once": true}, a
 * registered installation reports usage once only, {@code usage_report_days} after {@code registered_at}.
 */
final class Trail {
    static final String PATH = "/v1/trail";
    /** The longest request target (path and query) a part may be: what Internet Explorer and many proxies take. */
    static final int MAX_TARGET = 2000;
    private static final String END = "&end=1";
    private static final Set<String> MODES = Set.of(EventKinds.INSTALL, EventKinds.REGISTER, EventKinds.USAGE);
    /** The fields a trail carries, in the order they are written; nothing else is ever sent. */
    static final List<String> FIELDS = fields();

    private Trail() {}

    private static List<String> fields() {
        List<String> names = new ArrayList<>();
        names.add("version");
        names.addAll(Facts.NAMES);
        for (String kind : List.of("author", "tracker")) {
            for (int n = 1; n <= 10; n++) names.add(kind + "_" + n);
        }
        return List.copyOf(names);
    }

    /** RFC 3986 percent-encoding of the UTF-8 bytes: {@code A-Za-z0-9-._~} kept, the rest {@code %XX} upper-case. */
    static String encode(String text) {
        StringBuilder out = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    private static String fieldText(JsonNode value) {
        if (value == null) return "";
        if (value.isTextual()) return value.textValue();
        if (value.isBoolean()) return value.booleanValue() ? "true" : "false";
        if (value.isIntegralNumber()) return value.bigIntegerValue().toString();
        return "";
    }

    private static String head(String product, String mode, String eventId, int n) {
        return PATH + "?p=" + encode(product) + "&m=" + encode(mode) + "&i=" + encode(eventId) + "&n=" + n;
    }

    private static boolean fits(String target, String piece) {
        return target.length() + piece.length() + END.length() <= MAX_TARGET;
    }

    /** The GETs' request targets for one event, each at most {@link #MAX_TARGET} bytes, packed greedily. */
    static List<String> targets(String product, String mode, String eventId, JsonNode fields) {
        List<String> parts = new ArrayList<>();
        int n = 1;
        String current = head(product, mode, eventId, n);
        for (String name : FIELDS) {
            String text = fieldText(fields == null ? null : fields.get(name));
            if (text.isEmpty()) continue;
            String piece = "&" + name + "=" + encode(text);
            if (fits(current, piece)) {
                current += piece;
                continue;
            }
            if (!current.equals(head(product, mode, eventId, n))) {
                parts.add(current);
                n++;
                current = head(product, mode, eventId, n);
            }
            if (!fits(current, piece)) {
                // Too long for a part of its own: the longest prefix of whole characters that fits.
                StringBuilder cut = new StringBuilder("&" + name + "=");
                for (int i = 0; i < text.length(); ) {
                    int cp = text.codePointAt(i);
                    String more = encode(new String(Character.toChars(cp)));
                    if (!fits(current, cut + more)) break;
                    cut.append(more);
                    i += Character.charCount(cp);
                }
                piece = cut.toString();
            }
            current += piece;
        }
        parts.add(current + END);
        return parts;
    }

    /** Whether a registered installation reports usage at this online check. */
    static boolean usageDue(ObjectNode payload, String lastReport, Instant now) {
        Long signed = Json.integer(payload, "usage_report_days");
        if (Json.isTrue(payload, "usage_report_once")) {
            long days = signed != null && signed > 0 && signed < 10_000 ? signed : 1;
            Instant registered = Times.parseOrNull(Json.text(payload, "registered_at"));
            if (lastReport != null || registered == null) return false;
            return Duration.between(registered, now).compareTo(Duration.ofDays(days)) >= 0;
        }
        long every = signed != null && signed > 0 && signed < 10_000 ? signed : 1;
        Instant last = Times.parseOrNull(lastReport);
        return last == null || Duration.between(last, now).compareTo(Duration.ofDays(every)) >= 0 || now.isBefore(last);
    }

    /** The product whose trail the stored document asks for, or null. */
    static String productOf(State state, String product) {
        return Json.isTrue(Json.obj(state.signed, "document"), "proxy_trail") ? product : null;
    }

    /** Send the trail GETs of a batch's install, register and usage events before its POST; failures are ignored. */
    static void send(Transport transport, String product, List<ObjectNode> events, long deadline) {
        long now = System.nanoTime();
        long until = now + Math.max(0, deadline - now) / 2;
        for (ObjectNode event : events) {
            String kind = Json.text(event, "kind");
            String id = Json.text(event, "id");
            if (kind == null || id == null || !MODES.contains(kind)) continue;
            ObjectNode fields = Json.object();
            ObjectNode facts = Json.obj(event, "facts");
            if (facts != null) fields.setAll(facts);
            ObjectNode data = Json.obj(event, "data");
            fields.set("version", data == null ? null : data.get("app_version"));
            for (String target : targets(product, kind, id, fields)) {
                long left = until - System.nanoTime();
                if (left <= 0) return;
                try {
                    // No credential; the answer (204, no body) is not judged: the POST is the record.
                    transport.exchange(new Transport.Call("GET", target, Map.of(), null, null), Duration.ofNanos(left));
                } catch (LicentiaException e) {
                    // best effort
                }
            }
        }
    }
}
