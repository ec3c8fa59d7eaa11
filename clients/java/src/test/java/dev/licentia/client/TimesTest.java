package dev.licentia.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class TimesTest {
    private static final Pattern ISO = Pattern.compile(
            "^(\\d{4})-(\\d{2})-(\\d{2})(?:[T ](\\d{2})(?::(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,6}))?)?)?)?(Z|[+-]\\d{2}:?\\d{2})?$");

    /** What Times.parse answered when it matched a regular expression: the reference it must match. */
    private static String byRegularExpression(String text) {
        try {
            Matcher m = ISO.matcher(text);
            if (!m.matches()) throw new DateTimeException("not an ISO 8601 time");
            int[] f = new int[6];
            for (int i = 0; i < 6; i++) f[i] = m.group(i + 1) == null ? 0 : Integer.parseInt(m.group(i + 1));
            int nanos = m.group(7) == null ? 0 : Integer.parseInt((m.group(7) + "000000").substring(0, 6)) * 1000;
            ZoneOffset zone = ZoneOffset.UTC;
            String z = m.group(8);
            if (z != null && !z.equals("Z")) {
                String digits = z.substring(1).replace(":", "");
                int minutes = Integer.parseInt(digits.substring(0, 2)) * 60 + Integer.parseInt(digits.substring(2, 4));
                zone = ZoneOffset.ofTotalSeconds((z.charAt(0) == '-' ? -1 : 1) * minutes * 60);
            }
            return LocalDateTime.of(f[0], f[1], f[2], f[3], f[4], f[5], nanos).toInstant(zone).toString();
        } catch (DateTimeException e) {
            return "refused";
        }
    }

    private static String scanned(String text) {
        try {
            Instant parsed = Times.parse(text);
            return parsed.toString();
        } catch (DateTimeException e) {
            return "refused";
        }
    }

    @Test
    void timesAreReadAsTheRegularExpressionReadThem() {
        String[] pieces = {"2024", "-", "01", "12", "31", "T", " ", ":", "00", "23", "59", ".", ",", "5", "123456", "7",
            "Z", "+", "-", "05", "30", "0530", "19", "x", "\n", "٣", "1"};
        Random random = new Random(31);
        for (String text : new String[] {"2026-12-05T15:00:00Z", "2026-12-05", "2026-12-05 15:00", "2026-12-05T15:00:00.5+05:30",
                "2026-12-05T15:00:00,123456-0800", "2026-02-30T00:00:00Z", "2026-12-05T15:00:00Z\n", "", "2026-12-05T"}) {
            assertEquals(byRegularExpression(text), scanned(text), text);
        }
        for (int n = 0; n < 100_000; n++) {
            StringBuilder text = new StringBuilder(random.nextBoolean() ? "2026-12-05" : "");
            for (int k = random.nextInt(9); k > 0; k--) text.append(pieces[random.nextInt(pieces.length)]);
            assertEquals(byRegularExpression(text.toString()), scanned(text.toString()), text.toString());
        }
    }
}
