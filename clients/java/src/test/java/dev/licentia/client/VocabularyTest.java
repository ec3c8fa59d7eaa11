package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The contract's words in this client equal the core's: {@code clients/js/src/vocabulary.ts} is
 * written from {@code licentia.core.vocabulary} by {@code conformance/generate.py} (which does not
 * write a Java file yet), so the Java constants are held to it here.
 */
class VocabularyTest {
    private static Map<String, String> generated(String block) throws IOException {
        String text = Files.readString(Path.of("..", "js", "src", "vocabulary.ts"));
        Matcher m = Pattern.compile("export const " + block + " = \\{(.*?)\\} as const", Pattern.DOTALL).matcher(text);
        if (!m.find()) throw new AssertionError("no " + block + " in vocabulary.ts");
        Map<String, String> out = new TreeMap<>();
        Matcher entry = Pattern.compile("(\\w+): \"([^\"]+)\"").matcher(m.group(1));
        while (entry.find()) out.put(entry.group(1), entry.group(2));
        return out;
    }

    private static Map<String, String> constants(Class<?> type) throws IllegalAccessException {
        Map<String, String> out = new TreeMap<>();
        for (Field f : type.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) out.put(f.getName(), (String) f.get(null));
        }
        return out;
    }

    @Test
    void theWordsAreTheCores() throws Exception {
        assertEquals(generated("ErrorCode"), constants(ErrorCodes.class));
        assertEquals(generated("EventKind"), constants(EventKinds.class));
        assertEquals(generated("DeviceStatus"), constants(DeviceStatuses.class));
        assertEquals(generated("LicenseState"), constants(LicenseStates.class));
    }
}
