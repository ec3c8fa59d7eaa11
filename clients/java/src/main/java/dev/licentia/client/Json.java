package dev.licentia.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/**
 * JSON in and out, with Jackson's tree model.
 *
 * <p>Numbers are read exactly (integers as {@link BigInteger}, fractions as {@link java.math.BigDecimal}),
 * so the canonical bytes re-derived from a parsed document are the signed bytes, and a float the core
 * refuses is refused here too. Nesting is limited, a trailing token is an error, and a repeated key
 * keeps its last value, as in the Python core.
 */
final class Json {
    /** Deeper than any document the server writes; an attacker's "[[[[..." is refused, not recursed into. */
    static final int MAX_DEPTH = 512;

    static final JsonNodeFactory NODES = JsonNodeFactory.withExactBigDecimals(true);

    /** Jackson's mapper, built at first use: an application that only checks offline never needs it (JsonText reads the state). */
    static ObjectMapper mapper() {
        return Mapper.MAPPER;
    }

    private static final class Mapper {
        static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                        .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
                        .build())
                .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .nodeFactory(NODES)
                .build();
    }

    private Json() {}

    /** Thrown for text that is not JSON, and for values canonical JSON does not carry. */
    static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    static JsonNode parse(byte[] raw) throws JsonException {
        try {
            JsonNode node = mapper().readTree(raw);
            if (node == null || node.isMissingNode()) throw new JsonException("no JSON value");
            return node;
        } catch (IOException | RuntimeException e) {
            // RuntimeException: Jackson's constraint violations and the odd internal error on garbage.
            throw new JsonException("not JSON: " + e.getClass().getSimpleName());
        } catch (StackOverflowError e) {
            throw new JsonException("nested too deeply");
        }
    }

    static JsonNode parse(String text) throws JsonException {
        try {
            JsonNode node = mapper().readTree(text);
            if (node == null || node.isMissingNode()) throw new JsonException("no JSON value");
            return node;
        } catch (IOException | RuntimeException e) {
            throw new JsonException("not JSON: " + e.getClass().getSimpleName());
        } catch (StackOverflowError e) {
            throw new JsonException("nested too deeply");
        }
    }

    /** Plain (not canonical) JSON for request bodies and the SDK's own files. */
    static byte[] write(JsonNode node) {
        try {
            return mapper().writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    static String writeText(JsonNode node) {
        return new String(write(node), StandardCharsets.UTF_8);
    }

    static ObjectNode object() {
        return NODES.objectNode();
    }

    /** The text of a string field, or null for anything else (a missing field, a number, an object). */
    static String text(JsonNode node, String field) {
        if (node == null || !node.isObject()) return null;
        JsonNode value = node.get(field);
        return value != null && value.isTextual() ? value.textValue() : null;
    }

    /** The object under {@code field}, or null. */
    static ObjectNode obj(JsonNode node, String field) {
        if (node == null || !node.isObject()) return null;
        JsonNode value = node.get(field);
        return value instanceof ObjectNode ? (ObjectNode) value : null;
    }

    /** Exactly {@code true}. */
    static boolean isTrue(JsonNode node, String field) {
        if (node == null || !node.isObject()) return false;
        JsonNode value = node.get(field);
        return value != null && value.isBoolean() && value.booleanValue();
    }

    /** An integer field that fits in a long, or null (floats, strings, booleans are not integers). */
    static Long integer(JsonNode node, String field) {
        if (node == null || !node.isObject()) return null;
        JsonNode value = node.get(field);
        if (value == null || !value.isIntegralNumber()) return null;
        BigInteger big = value.bigIntegerValue();
        return big.bitLength() < 64 ? big.longValue() : null;
    }

    /** An integer within ±(2^63-1): what canonical JSON carries. */
    static boolean fitsCanonical(JsonNode value) {
        if (value == null || !value.isIntegralNumber()) return false;
        BigInteger n = value.bigIntegerValue();
        return n.bitLength() < 64 && n.longValue() != Long.MIN_VALUE;
    }

    /** Python's truthiness, which the core's rules use on payload fields. */
    static boolean truthy(JsonNode value) {
        if (value == null || value.isNull() || value.isMissingNode()) return false;
        if (value.isBoolean()) return value.booleanValue();
        if (value.isIntegralNumber()) return value.bigIntegerValue().signum() != 0;
        if (value.isNumber()) return value.decimalValue().signum() != 0;
        if (value.isTextual()) return !value.textValue().isEmpty();
        if (value.isContainerNode()) return value.size() > 0;
        return true;
    }

    /**
     * A JSON value as plain Java: null, Boolean, Long (BigInteger beyond 64 bits), BigDecimal, String,
     * List and Map (insertion order), all of them unmodifiable.
     */
    static Object toPlain(JsonNode value) {
        if (value == null || value.isNull() || value.isMissingNode()) return null;
        if (value.isBoolean()) return value.booleanValue();
        if (value.isIntegralNumber()) {
            BigInteger n = value.bigIntegerValue();
            return n.bitLength() < 64 ? (Object) n.longValue() : n;
        }
        if (value.isNumber()) return value.decimalValue();
        if (value.isTextual()) return value.textValue();
        if (value.isArray()) {
            java.util.List<Object> out = new java.util.ArrayList<>();
            value.forEach(item -> out.add(toPlain(item)));
            return java.util.Collections.unmodifiableList(out);
        }
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        value.fields().forEachRemaining(e -> out.put(e.getKey(), toPlain(e.getValue())));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** {@code str()} as the Python core applies it to a payload field before parsing it. */
    static String pyStr(JsonNode value) {
        if (value == null || value.isMissingNode()) return null;
        if (value.isTextual()) return value.textValue();
        if (value.isNull()) return "None";
        if (value.isBoolean()) return value.booleanValue() ? "True" : "False";
        if (value.isIntegralNumber()) return value.bigIntegerValue().toString();
        return "";
    }
}
