package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.licentia.client.hardware.Hardware;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-pass reader of the state's JSON against Jackson: whatever it reads, Jackson reads to the same
 * tree (node types, values, key order), and what it leaves to Jackson is Jackson's to accept or refuse;
 * a document's text it keeps as canonical is byte for byte the canonical JSON of what it read.
 */
class JsonTextTest {
    @TempDir
    Path tmp;

    static final List<String> TEXTS = List.of("", " ", "null", "true", "false", "nul", "truex", "0", "-0", "01", "-",
            "1.", ".5", "1.5", "1.5e", "1e+", "1E-7", "-12.50e+3", "123456789012345678", "-123456789012345678",
            "1234567890123456789", "123456789012345678901234567890", "9223372036854775807", "-9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "{\"n\":-9223372036854775808}", "1" + "0".repeat(100), "1" + "0".repeat(99), "\"", "\"\"", "\"a", "\"\\\"", "\"\\q\"",
            "\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"", "\"tab\there\"", "\"\\u00e9\\u00E9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
            "\"\\ude00\"", "\"\\ud83dx\"", "{\"\\ude00\":1}", "{\"\\ud83d\":1}", "{\"\\ud83d\\ude00\":1}", "{\"a\\ude00\\ud83d\":1}", "\"\\u12\"", "\"\\u12g4\"", "\"é ✓ 😀 \u2028 \u007f\"", "[]", "[ ]", "[1,]", "[,1]",
            "[1 2]", "[1,[2,[3]]]", "{}", "{ }", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}",
            "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":{\"b\":[null,true,\"x\",-1]}}",
            " {\"k\" : [ 1 , 2 ] } ", "{\"a\":1}x", "{\"a\":1} {}", "[1]]", "{\"a\":1}}", "\n\t\r 7 \n", "\f7", "7\u0000",
            "\"\\u0000\"", "{\"\\u00e9\":\"key\"}", "[" + "[".repeat(600) + "]".repeat(600) + "]",
            "[".repeat(64) + "]".repeat(64), "[".repeat(65) + "]".repeat(65), "/* c */ 1", "# c\n1", "NaN", "[Infinity]",
            "\"" + "x".repeat(5000) + "\"", "{\"" + "k".repeat(5000) + "\":1}", "{\"" + "k".repeat(60000) + "\":1}",
            "\uFEFF{}", "{\"format\":2,\"device\":\"d\",\"secret\":\"s\",\"state\":\"{\\\"signed\\\":{\\\"document\\\":"
                    + "{\\\"x\\\":1}},\\\"token\\\":null}\",\"mac\":\"m\"}");

    /** Texts that are not UTF-8, or not in UTF-8: Jackson has its own ways with them. */
    static final List<byte[]> BYTES = List.of(bytes(0x22, 0xff, 0x22), bytes(0x22, 0xc0, 0x80, 0x22), bytes(0x22, 0xc3, 0x22),
            bytes(0x22, 0xed, 0xa0, 0x80, 0x22), bytes(0x22, 0xf4, 0x90, 0x80, 0x80, 0x22), bytes(0x22, 0xf0, 0x9f, 0x98, 0x80, 0x22),
            bytes(0x22, 0xe0, 0x80, 0xaf, 0x22), bytes(0x22, 0xf8, 0x88, 0x80, 0x80, 0x80, 0x22), bytes(0x00, 0x7b, 0x00, 0x7d),
            bytes(0x7b, 0x00, 0x7d, 0x00), bytes(0xef, 0xbb, 0xbf, 0x31), bytes(0x5b, 0x31, 0x5d, 0x00));

    static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (byte) values[i];
        return out;
    }

    /** The texts above, the vectors, the state files they hold (each one's sealed body too) and their canonical JSON cases. */
    static List<byte[]> corpus() throws Exception {
        List<byte[]> texts = new ArrayList<>();
        for (String text : TEXTS) texts.add(text.getBytes(StandardCharsets.UTF_8));
        texts.addAll(BYTES);
        texts.add(Files.readAllBytes(Vectors.FILE));
        for (JsonNode c : Vectors.section("state")) {
            byte[] file = Base64.getDecoder().decode(c.get("base64").textValue());
            texts.add(file);
            JsonNode outer = jackson(file);
            if (outer != null && outer.path("state").isTextual()) texts.add(outer.get("state").textValue().getBytes(StandardCharsets.UTF_8));
        }
        for (JsonNode c : Vectors.section("canonical")) {
            texts.add(c.get("json").textValue().getBytes(StandardCharsets.UTF_8));
            if (c.path("canonical").isTextual()) texts.add(c.get("canonical").textValue().getBytes(StandardCharsets.UTF_8));
        }
        return texts;
    }

    static JsonNode jackson(byte[] raw) {
        try {
            return Json.parse(raw);
        } catch (Json.JsonException e) {
            return null;
        }
    }

    /** Same node types, same values, keys in the same order. */
    static void assertSameTree(JsonNode expected, JsonNode found, String where) {
        assertEquals(expected.getClass(), found.getClass(), where);
        if (expected.isObject()) {
            List<String> keys = new ArrayList<>();
            expected.fieldNames().forEachRemaining(keys::add);
            List<String> foundKeys = new ArrayList<>();
            found.fieldNames().forEachRemaining(foundKeys::add);
            assertEquals(keys, foundKeys, where);
            for (String key : keys) assertSameTree(expected.get(key), found.get(key), where + "." + key);
        } else if (expected.isArray()) {
            assertEquals(expected.size(), found.size(), where);
            for (int i = 0; i < expected.size(); i++) assertSameTree(expected.get(i), found.get(i), where + "[" + i + "]");
        } else {
            assertEquals(expected, found, where);
        }
    }

    /** What the reader reads, Jackson reads alike; a text kept as canonical is the canonical JSON of its value. */
    static boolean readsAsJackson(byte[] raw, String... path) {
        JsonText.Read read = JsonText.read(raw, path);
        if (read == null) return false; // Jackson's to read, whatever it makes of it
        String shown = new String(raw, 0, Math.min(raw.length, 200), StandardCharsets.UTF_8);
        JsonNode expected = jackson(raw);
        if (expected == null) fail("read what Jackson refuses: " + shown);
        assertSameTree(expected, read.tree(), shown);
        if (read.known() != null) {
            try {
                assertArrayEquals(Canonical.bytes(read.known().value()), read.known().bytes(), shown);
            } catch (Json.JsonException e) {
                fail("kept as canonical what canonical JSON refuses: " + shown);
            }
        }
        return true;
    }

    @Test
    void whatItReadsJacksonReadsToTheSameTree() throws Exception {
        int read = 0;
        for (byte[] text : corpus()) if (readsAsJackson(text)) read++;
        assertTrue(read > 100, "the usual texts are read here, not left to Jackson: " + read);
        for (String usual : List.of("{\"a\":1,\"a\":2}", "\"\\ud83d\"", "-0", "\"\\u0000\"", " {\"k\" : [ 1 , 2 ] } ", "\"é ✓ 😀\"")) {
            assertTrue(readsAsJackson(usual.getBytes(StandardCharsets.UTF_8)), usual);
        }
        for (String other : List.of("1.5", "1E-7", "1" + "0".repeat(100), "\uFEFF{}", "[" + "[".repeat(64) + "]".repeat(64) + "]",
                "{\"" + "k".repeat(5000) + "\":1}")) {
            assertNull(JsonText.read(other.getBytes(StandardCharsets.UTF_8)), "left to Jackson: " + other.substring(0, Math.min(20, other.length())));
        }
        for (byte[] other : BYTES) {
            if (other[1] != (byte) 0xf0) assertNull(JsonText.read(other), "not UTF-8: left to Jackson");
        }
    }

    @Test
    void randomDamageReadsAsJacksonDoes() throws Exception {
        // More rounds and another seed on request: mvn test -Djsontext.rounds=20000 -Djsontext.seed=7
        Random random = new Random(Long.getLong("jsontext.seed", 31));
        int rounds = Integer.getInteger("jsontext.rounds", 300);
        byte[] alphabet = "{}[],:\"\\ -+.eE0123456789abcdefnrtulsuABDF/\u0001é😀".getBytes(StandardCharsets.UTF_8);
        int read = 0;
        for (byte[] text : corpus()) {
            byte[] base = text.length > 4096 ? java.util.Arrays.copyOf(text, 4096) : text;
            for (int i = 0; i < rounds && base.length > 0; i++) {
                byte[] b = base.clone();
                for (int k = random.nextInt(3) + 1; k > 0 && b.length > 0; k--) {
                    int at = random.nextInt(b.length);
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    switch (random.nextInt(4)) {
                        case 0 -> {
                            b[at] = random.nextInt(8) == 0 ? (byte) random.nextInt(256) : alphabet[random.nextInt(alphabet.length)];
                            continue;
                        }
                        case 1 -> {
                            out.write(b, 0, at);
                            out.write(b, at + 1, b.length - at - 1);
                        }
                        case 2 -> {
                            out.write(b, 0, at + 1);
                            out.write(b, at, b.length - at);
                        }
                        default -> out.write(b, 0, at);
                    }
                    b = out.toByteArray();
                }
                if (readsAsJackson(b, "signed", "document")) read++;
            }
        }
        assertTrue(read > 1000, "damaged texts the reader read itself: " + read);
    }

    // -- the document's canonical text --------------------------------------------------------

    static final String[] KEYS = {"a", "b", "é", "\uE000", "😀", "\u0001", "q\"", "b\\", "/", "\u2028", "aa", ""};

    static JsonNode randomValue(Random random, int depth) {
        switch (depth > 3 ? random.nextInt(4) : random.nextInt(7)) {
            case 0:
                return Json.NODES.textNode(KEYS[random.nextInt(KEYS.length)] + (char) random.nextInt(0x30));
            case 1:
                long[] ints = {0, 1, -1, 7, Long.MAX_VALUE / 1000, -999_999_999_999_999_999L, random.nextInt()};
                return Json.NODES.numberNode(java.math.BigInteger.valueOf(ints[random.nextInt(ints.length)]));
            case 2:
                return random.nextBoolean() ? Json.NODES.booleanNode(random.nextBoolean()) : Json.NODES.nullNode();
            case 3:
                return Json.NODES.textNode("");
            case 4:
                ArrayNode array = Json.NODES.arrayNode();
                for (int i = random.nextInt(4); i > 0; i--) array.add(randomValue(random, depth + 1));
                return array;
            default:
                ObjectNode object = Json.object();
                for (int i = random.nextInt(5); i > 0; i--) object.set(KEYS[random.nextInt(KEYS.length)], randomValue(random, depth + 1));
                return object;
        }
    }

    @Test
    void aDocumentWrittenCanonicallyIsKeptAsWritten() throws Exception {
        Random random = new Random(8);
        for (int i = 0; i < 2000; i++) {
            ObjectNode document = Json.object();
            for (int k = random.nextInt(6); k > 0; k--) document.set(KEYS[random.nextInt(KEYS.length)], randomValue(random, 1));
            String canonical = Canonical.text(document);
            String body = "{\"escrowed\":false,\"signed\":{\"document\":" + canonical + ",\"kid\":\"k\",\"sig\":\"s\"},\"token\":null}";
            JsonText.Read read = JsonText.read(body.getBytes(StandardCharsets.UTF_8), "signed", "document");
            assertNotNull(read, body);
            assertNotNull(read.known(), body);
            assertSame(read.tree().get("signed").get("document"), read.known().value());
            assertArrayEquals(canonical.getBytes(StandardCharsets.UTF_8), read.known().bytes(), body);
            assertTrue(readsAsJackson(body.getBytes(StandardCharsets.UTF_8), "signed", "document"));
        }
    }

    @Test
    void aDocumentNotWrittenCanonicallyIsNotKept() {
        String canonical = "{\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\\"\"}";
        for (String other : List.of("{\"a\":\"x\\u001F\",\"b\":[1,-2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\u0022\"}",
                "{\"a\":\"x\\u001f\",\"b\":[1, -2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"é\":{ },\"\uE000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"😀\":\"\\\"\",\"é\":{},\"\uE000\":true}",
                "{\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"é\":{},\"\\ue000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\u001f\",\"b\":[1,-0,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\/\",\"b\":[1,-2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\u001f\",\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\\"\"}",
                "{\"a\":\"x\\u001f\",\"b\":[1,-2,null],\"é\":{},\"\uE000\":true,\"😀\":\"\\t\\u0009\"}")) {
            JsonText.Read read = JsonText.read(("{\"signed\":{\"document\":" + other + "}}").getBytes(StandardCharsets.UTF_8),
                    "signed", "document");
            assertNotNull(read, other);
            assertNull(read.known(), other);
        }
        JsonText.Read read = JsonText.read(("{\"signed\":{\"document\":" + canonical + "}}").getBytes(StandardCharsets.UTF_8), "signed", "document");
        assertNotNull(read.known());
        // Elsewhere than the path: nothing kept.
        assertNull(JsonText.read(("{\"signed\":[{\"document\":" + canonical + "}]}").getBytes(StandardCharsets.UTF_8), "signed", "document").known());
        assertNull(JsonText.read(("{\"document\":" + canonical + "}").getBytes(StandardCharsets.UTF_8), "signed", "document").known());
        assertNull(JsonText.read(("{\"x\":{\"signed\":{\"document\":" + canonical + "}}}").getBytes(StandardCharsets.UTF_8), "signed", "document").known());
        // A repeated key: the last one, as in the tree.
        read = JsonText.read(("{\"signed\":{\"document\":" + canonical + ",\"document\":{ }}}").getBytes(StandardCharsets.UTF_8), "signed", "document");
        assertNull(read.known());
        read = JsonText.read(("{\"signed\":{\"document\":{ },\"document\":" + canonical + "}}").getBytes(StandardCharsets.UTF_8), "signed", "document");
        assertSame(read.tree().get("signed").get("document"), read.known().value());
    }

    // -- the state file, read by the client -----------------------------------------------------

    TestSigner signer;

    Licentia client(FakeMachine machine) {
        return Licentia.builder().serverUrl("http://127.0.0.1:9").product("my-app").publicKey(signer.publicKey)
                .dataDir(tmp.resolve("data")).hardware(Hardware.linuxRoot(machine.root)).build();
    }

    /** A state for this installation, sealed, whose body is {@code body} made of its canonical text. */
    void store(Licentia lic, ObjectNode signed, java.util.function.UnaryOperator<String> body) throws Exception {
        State state = new State();
        state.credential = new Answers.Credential("dv_1", "s3cret");
        state.signed = signed;
        state.token = "tok";
        state.lastSeen = Times.toIso(Instant.now());
        byte[] sealed = state.toBytes();
        ObjectNode outer = (ObjectNode) Json.parse(sealed);
        String text = body.apply(outer.get("state").textValue());
        outer.put("state", text);
        outer.put("mac", State.mac("dv_1", "s3cret", text.getBytes(StandardCharsets.UTF_8)));
        Files.createDirectories(lic.dataDir());
        Files.write(lic.dataDir().resolve("state.json"), Json.write(outer));
    }

    ObjectNode document(Licentia lic, String status) {
        Fingerprint fingerprint = lic.fingerprint();
        ObjectNode doc = Json.object();
        doc.put("v", 1);
        doc.put("product", "my-app");
        doc.put("device", "dv_1");
        doc.set("components", Json.mapper().valueToTree(fingerprint.components()));
        doc.put("data_path", fingerprint.dataPath());
        doc.put("min_match", 2);
        doc.put("status", status);
        doc.put("allowed", true);
        doc.putArray("features").add("pro");
        doc.put("issued_at", Times.toIso(Instant.now()));
        doc.put("lease_until", Times.toIso(Instant.now().plus(Duration.ofDays(7))));
        doc.put("grace_days", 7);
        doc.put("note", "café 😀 \"quoted\" \u0001");
        return doc;
    }

    @Test
    void theStoredDocumentIsVerifiedOnItsStoredTextOrRebuiltAndEditsStillFail() throws Exception {
        signer = new TestSigner();
        Licentia lic = client(new FakeMachine(tmp.resolve("machine")));
        ObjectNode signed = signer.sign(document(lic, "registered"));
        String canonical = Canonical.text(signed.get("document"));

        store(lic, signed, body -> body);
        State kept = State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json")));
        assertNotNull(kept.documentText, "the SDK writes the document canonically: its text is kept");
        assertSame(kept.signed.get("document"), kept.documentText.value());
        assertArrayEquals(canonical.getBytes(StandardCharsets.UTF_8), kept.documentText.bytes());
        Status status = lic.check(false);
        assertTrue(status.allowed(), status.toString());
        assertEquals("registered", status.state());

        // Written otherwise (another writer's spacing, key order), the canonical bytes are rebuilt: it verifies.
        store(lic, signed, body -> body.replace("\"document\":{", "\"document\": {").replace(",\"grace_days\":", ", \"grace_days\" :"));
        assertNull(State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json"))).documentText);
        assertTrue(lic.check(false).allowed());
        store(lic, signed, body -> body.replace("\"features\":[\"pro\"],", "").replace("\"device\":", "\"features\":[\"pro\"],\"device\":"));
        assertTrue(Files.readString(lic.dataDir().resolve("state.json")).contains("\\\"features\\\":[\\\"pro\\\"],\\\"device\\\""));
        assertNull(State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json"))).documentText);
        assertTrue(lic.check(false).allowed());

        // An edit, re-sealed by someone holding the file: canonical or not, the signature fails.
        for (String edited : List.of("\"status\":\"trial\"", "\"status\" : \"trial\"", "\"status\":\"\\u0074rial\"")) {
            store(lic, signed, body -> body.replace("\"status\":\"registered\"", edited));
            State stored = State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json")));
            assertEquals("trial", stored.signed.get("document").get("status").textValue(), "the edit took, sealed");
            Status refused = lic.check(false);
            assertFalse(refused.allowed(), edited);
            assertEquals("invalid_document", refused.reason());
        }
        // A second document after the first (a repeated key): the last one is judged, on its own text.
        ObjectNode other = signer.sign(document(lic, "trial"));
        String twice = "\"signed\":{\"document\":" + Canonical.text(other.get("document")) + ",\"document\":";
        store(lic, signed, body -> body.replace("\"signed\":{\"document\":", twice));
        State both = State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json")));
        assertEquals("registered", both.signed.get("document").get("status").textValue());
        assertArrayEquals(canonical.getBytes(StandardCharsets.UTF_8), both.documentText.bytes());
        assertTrue(lic.check(false).allowed());
        store(lic, other, body -> body.replace("\"signed\":{\"document\":", "\"signed\":{\"document\":" + canonical + ",\"document\":"));
        assertEquals("trial", lic.check(false).state(), "the last document, with its own signature");
    }

    @Test
    void aStateJacksonMustReadIsReadAsBefore() throws Exception {
        signer = new TestSigner();
        Licentia lic = client(new FakeMachine(tmp.resolve("machine")));
        ObjectNode signed = signer.sign(document(lic, "registered"));
        // A fraction in the body (no SDK writes one): Jackson reads the body, and the document verifies.
        store(lic, signed, body -> body.replace("\"token\":\"tok\"", "\"token\":\"tok\",\"extra\":1.5"));
        State state = State.fromBytes(Files.readAllBytes(lic.dataDir().resolve("state.json")));
        assertFalse(state.corrupt);
        assertNull(state.documentText);
        assertTrue(lic.check(false).allowed());
        // A byte-order mark before the file: Jackson reads it, as before this reader.
        byte[] file = Files.readAllBytes(lic.dataDir().resolve("state.json"));
        byte[] marked = new byte[file.length + 3];
        marked[0] = (byte) 0xef;
        marked[1] = (byte) 0xbb;
        marked[2] = (byte) 0xbf;
        System.arraycopy(file, 0, marked, 3, file.length);
        assertNull(JsonText.read(marked));
        Files.write(lic.dataDir().resolve("state.json"), marked);
        assertTrue(lic.check(false).allowed());
    }
}
