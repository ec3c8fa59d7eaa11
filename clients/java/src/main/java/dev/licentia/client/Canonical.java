package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The core's canonical JSON: the exact bytes that get signed.
 *
 * <p>Keys sorted by code point (not by UTF-16 unit, as {@link String#compareTo} would), no white
 * space, UTF-8 with only what JSON requires escaped, integers within ±(2^63-1), no floats, no lone
 * surrogates. Anything else is refused: a document the core would not sign cannot verify here.
 */
final class Canonical {
    private static final BigInteger MAX_INT = BigInteger.ONE.shiftLeft(63).subtract(BigInteger.ONE);
    private static final BigInteger MIN_INT = MAX_INT.negate();

    private Canonical() {}

    static byte[] bytes(JsonNode value) throws Json.JsonException {
        return text(value).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A value and its canonical bytes, the text it was read from ({@link JsonText}: a stored document
     * written canonically). Trees read from a file are never changed afterwards.
     */
    record Known(JsonNode value, byte[] bytes) {}

    /** {@link #bytes(JsonNode)}, taken as read when {@code known} holds this very value (null: none). */
    static byte[] bytes(JsonNode value, Known known) throws Json.JsonException {
        return known != null && known.value() == value ? known.bytes() : bytes(value);
    }

    static String text(JsonNode value) throws Json.JsonException {
        StringBuilder out = new StringBuilder();
        write(value, out, 0);
        return out.toString();
    }

    /** Code point order, which differs from UTF-16 order between U+E000..U+FFFF and surrogate pairs. */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (x != y) return Integer.compare(x, y);
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    private static void write(JsonNode value, StringBuilder out, int depth) throws Json.JsonException {
        if (depth > Json.MAX_DEPTH) throw new Json.JsonException("nested too deeply");
        if (value == null || value.isNull()) {
            out.append("null");
        } else if (value.isBoolean()) {
            out.append(value.booleanValue() ? "true" : "false");
        } else if (value.isTextual()) {
            writeString(value.textValue(), out);
        } else if (value.isIntegralNumber()) {
            BigInteger n = value.bigIntegerValue();
            if (n.compareTo(MAX_INT) > 0 || n.compareTo(MIN_INT) < 0) {
                throw new Json.JsonException("canonical JSON integers must fit in 64 bits");
            }
            out.append(n.toString());
        } else if (value.isArray()) {
            out.append('[');
            for (int i = 0; i < value.size(); i++) {
                if (i > 0) out.append(',');
                write(value.get(i), out, depth + 1);
            }
            out.append(']');
        } else if (value.isObject()) {
            List<String> keys = new ArrayList<>(value.size());
            for (Iterator<String> it = value.fieldNames(); it.hasNext(); ) keys.add(it.next());
            keys.sort(Canonical::compareCodePoints);
            out.append('{');
            boolean first = true;
            for (String key : keys) {
                if (!first) out.append(',');
                first = false;
                writeString(key, out);
                out.append(':');
                write(value.get(key), out, depth + 1);
            }
            out.append('}');
        } else if (value.isNumber()) {
            throw new Json.JsonException("canonical JSON does not carry floats");
        } else {
            throw new Json.JsonException("canonical JSON does not carry " + value.getNodeType() + " values");
        }
    }

    private static void writeString(String s, StringBuilder out) throws Json.JsonException {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    out.append(c).append(s.charAt(++i));
                    continue;
                }
                throw new Json.JsonException("canonical JSON strings must be valid Unicode (a lone surrogate)");
            }
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
            }
        }
        out.append('"');
    }
}
