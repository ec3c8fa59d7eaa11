package dev.licentia.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The state file's JSON texts read in one pass into Jackson's tree, without Jackson's parser.
 *
 * <p>An offline check reads two JSON texts every time (the state file and its sealed body): Jackson's
 * parser and tree builder were the largest part of the code the JIT compiled during a process's first
 * checks. This reader builds the tree {@link Json#parse} builds ({@link Json#NODES}' nodes, integers as
 * {@link BigInteger}, keys in order, a repeated key keeping its last value at its first place) for the
 * texts the SDKs write: strict JSON in UTF-8, integers of at most 18 digits, no fractions, at most
 * {@link #MAX_DEPTH} deep. For any other text it answers null, and Jackson reads it: what is accepted
 * and what it means stay Jackson's (JsonTextTest compares the two on the conformance vectors, hostile
 * texts and random damage).
 *
 * <p>It also says whether the value under one path (the signed document) was written in canonical
 * JSON, and if so keeps its bytes: they are the bytes its signature covers, so an offline check does
 * not write them again.
 */
final class JsonText {
    /** Deeper texts go to Jackson (whose limit is {@link Json#MAX_DEPTH}). */
    static final int MAX_DEPTH = 64;
    private static final int MAX_DIGITS = 100; // longer integers go to Jackson (whose limit is 1000)
    private static final int LONG_DIGITS = 18;
    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final int MAX_NAME = 4096; // far below Jackson's limit on names
    private static final int MAX_TEXT = 1 << 22; // far below Jackson's limit on strings
    private static final String[] NO_PATH = {};

    private final byte[] in;
    private final String[] path;
    private int at;
    /** How many keys of {@link #path}, from the root, lead to the value being read. */
    private int onPath;
    /** False once something not canonical was read (reset where the path's value starts). */
    private boolean canonical;
    private Canonical.Known known;
    private int targetStart;

    private JsonText(byte[] in, String[] path) {
        this.in = in;
        this.path = path;
    }

    /** A text read: its tree, and the canonical text of the value under the path asked for (or null). */
    record Read(JsonNode tree, Canonical.Known known) {}

    /** The tree of {@code raw}, or null when Jackson must read it. */
    static JsonNode read(byte[] raw) {
        Read read = read(raw, NO_PATH);
        return read == null ? null : read.tree();
    }

    /** {@link #read(byte[])}, keeping the text of the value under {@code path} (keys from the root) when canonical. */
    static Read read(byte[] raw, String... path) {
        if (raw.length > MAX_TEXT) return null;
        JsonText reader = new JsonText(raw, path);
        reader.space();
        JsonNode tree = reader.value();
        if (tree == null) return null;
        reader.space();
        return reader.at == raw.length ? new Read(tree, reader.known) : null;
    }

    private void space() {
        int from = at;
        while (at < in.length && (in[at] == ' ' || in[at] == '\n' || in[at] == '\r' || in[at] == '\t')) at++;
        if (at != from) canonical = false;
    }

    private boolean next(char c) {
        if (at < in.length && in[at] == c) {
            at++;
            return true;
        }
        return false;
    }

    private boolean word(String word) {
        if (at + word.length() > in.length) return false;
        for (int i = 0; i < word.length(); i++) {
            if (in[at + i] != word.charAt(i)) return false;
        }
        at += word.length();
        return true;
    }

    /**
     * The value here (no white space before it) and all it holds, or null. The open containers are
     * kept in arrays rather than by recursion: one loop for the JIT to compile, not a nest of calls
     * inlined into each other.
     */
    private JsonNode value() {
        ContainerNode<?>[] open = new ContainerNode<?>[MAX_DEPTH];
        String[] keys = new String[MAX_DEPTH]; // each open object's key being read (null before the first)
        int depth = 0;
        while (true) {
            JsonNode value;
            byte c = at < in.length ? in[at] : 0;
            if (c == '{' || c == '[') {
                if (depth == MAX_DEPTH) return null;
                at++;
                space();
                ContainerNode<?> node = c == '{' ? Json.NODES.objectNode() : Json.NODES.arrayNode();
                if (!next(c == '{' ? '}' : ']')) {
                    open[depth] = node;
                    keys[depth] = null;
                    if (c == '{' && !key(depth, keys)) return null;
                    depth++;
                    continue; // to the first member
                }
                value = node;
            } else {
                value = scalar(c);
                if (value == null) return null;
            }
            // Put the value in its container; a container it ends goes in its own, and so on up.
            while (true) {
                if (depth == 0) return value;
                ContainerNode<?> parent = open[depth - 1];
                boolean object = parent.isObject();
                if (object) {
                    // A repeated key: the last one counts, in the tree and here.
                    if (onPath == path.length && depth == path.length) {
                        known = canonical ? new Canonical.Known(value, Arrays.copyOfRange(in, targetStart, at)) : null;
                    }
                    ((ObjectNode) parent).replace(keys[depth - 1], value);
                } else {
                    ((ArrayNode) parent).add(value);
                }
                space();
                if (next(',')) {
                    space();
                    if (object && !key(depth - 1, keys)) return null;
                    break; // to the next member
                }
                if (!next(object ? '}' : ']')) return null;
                value = parent;
                depth--;
            }
        }
    }

    /** A member's key and colon in the object open at {@code depth}; false if there is none. */
    private boolean key(int depth, String[] keys) {
        if (at >= in.length || in[at] != '"') return false;
        String key = string(true);
        if (key == null) return false;
        // Canonical JSON sorts keys by code point, each once.
        if (keys[depth] != null && Canonical.compareCodePoints(keys[depth], key) >= 0) canonical = false;
        keys[depth] = key;
        space();
        if (!next(':')) return false;
        space();
        if (onPath > depth) onPath = depth; // the previous member's value was on the path, this one may not be
        if (onPath == depth && depth < path.length && path[depth].equals(key)) {
            onPath = depth + 1;
            if (onPath == path.length) {
                canonical = true; // from here to the end of this member's value
                targetStart = at;
            }
        }
        return true;
    }

    private JsonNode scalar(byte c) {
        switch (c) {
            case '"':
                String text = string(false);
                return text == null ? null : Json.NODES.textNode(text);
            case 't':
                return word("true") ? Json.NODES.booleanNode(true) : null;
            case 'f':
                return word("false") ? Json.NODES.booleanNode(false) : null;
            case 'n':
                return word("null") ? Json.NODES.nullNode() : null;
            default:
                return integer();
        }
    }

    /** An integer of at most {@link #MAX_DIGITS} digits (a fraction or an exponent: null, for Jackson). */
    private JsonNode integer() {
        int start = at;
        boolean negative = next('-');
        int from = at;
        long value = 0;
        while (at < in.length && in[at] >= '0' && in[at] <= '9') value = value * 10 + (in[at++] - '0');
        int digits = at - from;
        if (digits == 0 || digits > MAX_DIGITS || (digits > 1 && in[from] == '0')) return null;
        if (at < in.length && (in[at] == '.' || in[at] == 'e' || in[at] == 'E')) return null;
        if (negative && value == 0) canonical = false; // "-0" is written "0"
        if (digits <= LONG_DIGITS) return Json.NODES.numberNode(BigInteger.valueOf(negative ? -value : value));
        BigInteger big = new BigInteger(new String(in, start, at - start, StandardCharsets.ISO_8859_1));
        if (big.bitLength() > 63 || big.equals(LONG_MIN)) canonical = false; // beyond what canonical JSON carries
        return Json.NODES.numberNode(big);
    }

    /** The string here (a key: at most {@link #MAX_NAME} bytes long in the text), or null. */
    private String string(boolean name) {
        int start = ++at;
        int end = name ? Math.min(in.length, start + MAX_NAME) : in.length;
        while (at < end && in[at] >= 0x20 && in[at] != '"' && in[at] != '\\') at++; // ASCII, no escape
        if (at < end && in[at] == '"') return new String(in, start, at++ - start, StandardCharsets.ISO_8859_1);
        StringBuilder out = new StringBuilder(at - start + 16).append(new String(in, start, at - start, StandardCharsets.ISO_8859_1));
        while (at < end) {
            int b = in[at++] & 0xff;
            if (b == '"') return out.toString();
            if (b == '\\') {
                if (!escape(out, name)) return null;
            } else if (b < 0x20) {
                return null; // a control character must be escaped
            } else if (b < 0x80) {
                out.append((char) b);
            } else if (!utf8(b, out)) {
                return null;
            }
        }
        return null;
    }

    private boolean escape(StringBuilder out, boolean name) {
        if (at >= in.length) return false;
        char c;
        switch (in[at++]) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; canonical = false; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                if (at + 4 > in.length) return false;
                int value = 0;
                boolean lower = true;
                for (int i = 0; i < 4; i++) {
                    int h = in[at++];
                    int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (digit < 0) return false;
                    lower &= h < 'A' || h > 'F';
                    value = value * 16 + digit;
                }
                c = (char) value; // a surrogate alone stays alone, as Jackson reads it in a value
                if (name && Character.isSurrogate(c)) return false; // in a key, Jackson pairs them or refuses
                // Canonical JSON escapes only the other control characters this way, lower-case hexadecimal.
                if (!lower || c >= 0x20 || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') canonical = false;
                break;
            default:
                return false;
        }
        out.append(c);
        return true;
    }

    /** The character whose UTF-8 encoding starts with {@code b} (read), or false for anything not UTF-8. */
    private boolean utf8(int b, StringBuilder out) {
        int more = b >= 0xC2 && b <= 0xDF ? 1 : b >= 0xE0 && b <= 0xEF ? 2 : b >= 0xF0 && b <= 0xF4 ? 3 : 0;
        if (more == 0 || at + more > in.length) return false;
        int c = b & (0x3F >> more);
        for (int i = 0; i < more; i++) {
            int next = in[at++] & 0xff;
            if ((next & 0xC0) != 0x80) return false;
            c = (c << 6) | (next & 0x3F);
        }
        // Over-long forms, surrogates and beyond U+10FFFF are not UTF-8.
        if ((more == 2 && c < 0x800) || (more == 3 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF)) {
            return false;
        }
        out.appendCodePoint(c);
        return true;
    }
}
