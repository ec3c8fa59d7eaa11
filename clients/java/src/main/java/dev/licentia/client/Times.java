package dev.licentia.client;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Timestamps as the core writes and reads them: UTC, ISO 8601, {@code Z} suffix. */
final class Times {
    private static final Pattern ISO = Pattern.compile(
            "^(\\d{4})-(\\d{2})-(\\d{2})(?:[T ](\\d{2})(?::(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,6}))?)?)?)?(Z|[+-]\\d{2}:?\\d{2})?$");
    // Offsets beyond a century are nonsense (a document's time is years 1-9999): treated as none.
    static final long MAX_OFFSET_SECONDS = 100L * 366 * 86_400;
    static final long DAY_MS = 86_400_000L;

    private Times() {}

    /** Parse an ISO 8601 timestamp (no offset means UTC); {@link DateTimeException} for anything else. */
    static Instant parse(String text) {
        if (text == null) throw new DateTimeException("no time");
        Matcher m = ISO.matcher(text);
        if (!m.matches()) throw new DateTimeException("not an ISO 8601 time");
        int[] f = new int[6];
        for (int i = 0; i < 6; i++) f[i] = m.group(i + 1) == null ? 0 : Integer.parseInt(m.group(i + 1));
        int nanos = 0;
        if (m.group(7) != null) {
            String frac = (m.group(7) + "000000").substring(0, 6);
            nanos = Integer.parseInt(frac) * 1000;
        }
        LocalDateTime local = LocalDateTime.of(f[0], f[1], f[2], f[3], f[4], f[5], nanos);
        ZoneOffset zone = ZoneOffset.UTC;
        String z = m.group(8);
        if (z != null && !z.equals("Z")) {
            String digits = z.substring(1).replace(":", "");
            int minutes = Integer.parseInt(digits.substring(0, 2)) * 60 + Integer.parseInt(digits.substring(2, 4));
            zone = ZoneOffset.ofTotalSeconds((z.charAt(0) == '-' ? -1 : 1) * minutes * 60);
        }
        return local.toInstant(zone);
    }

    /** {@link #parse}, or null for no text or text that is not such a time. */
    static Instant parseOrNull(String text) {
        if (text == null || text.isEmpty()) return null;
        try {
            return parse(text);
        } catch (DateTimeException | ArithmeticException e) {
            return null;
        }
    }

    /** UTC, second precision, {@code Z} suffix: the one timestamp form in signed documents. */
    static String toIso(Instant when) {
        return DateTimeFormatter.ISO_INSTANT.format(when.truncatedTo(ChronoUnit.SECONDS));
    }

    static boolean usableOffset(long seconds) {
        return Math.abs(seconds) <= MAX_OFFSET_SECONDS;
    }

    /**
     * Whole seconds to add to the local clock to get the server's, from a bound answer's
     * {@code issued_at} and the local time it arrived. Rounded up, as the Python core does:
     * {@code issued_at} is the server's time cut to the second, so judging a fraction of a second
     * late never grants more than was signed.
     */
    static long clockOffset(Instant issued, Instant localNow) {
        long ms = ChronoUnit.MILLIS.between(localNow, issued);
        long seconds = Math.floorDiv(ms + 999, 1000);
        return usableOffset(seconds) ? seconds : 0;
    }

    /** The server's time now, by the local clock and the offset the last bound answer measured. */
    static Instant serverTime(Instant localNow, long offsetSeconds) {
        return usableOffset(offsetSeconds) ? localNow.plusSeconds(offsetSeconds) : localNow;
    }

    /** Whole days left, counting a started day (0 once {@code end} has passed). */
    static long daysUntil(Instant end, Instant now) {
        long ms = ChronoUnit.MILLIS.between(now, end);
        return ms <= 0 ? 0 : Math.floorDiv(ms + DAY_MS - 1, DAY_MS);
    }
}
