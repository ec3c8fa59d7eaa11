package dev.licentia.client;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/** Timestamps as the core writes and reads them: UTC, ISO 8601, {@code Z} suffix. */
final class Times {
    // The form read, YYYY-MM-DD[(T| )HH[:MM[:SS[(.|,)F{1,6}]]]][Z|(+|-)HH[:]MM], is scanned by hand
    // rather than matched by a regular expression: several are read at every check.
    // Offsets beyond a century are nonsense (a document's time is years 1-9999): treated as none.
    static final long MAX_OFFSET_SECONDS = 100L * 366 * 86_400;
    static final long DAY_MS = 86_400_000L;

    private Times() {}

    /** Parse an ISO 8601 timestamp (no offset means UTC); {@link DateTimeException} for anything else. */
    static Instant parse(String text) {
        if (text == null) throw new DateTimeException("no time");
        Scan scan = new Scan(text);
        int year = scan.digits(4), month, day, hour = 0, minute = 0, second = 0, nanos = 0;
        if (year < 0 || !scan.skip('-') || (month = scan.digits(2)) < 0 || !scan.skip('-') || (day = scan.digits(2)) < 0) {
            throw new DateTimeException("not an ISO 8601 time");
        }
        if ((scan.skip('T') || scan.skip(' '))) {
            if ((hour = scan.digits(2)) < 0) throw new DateTimeException("not an ISO 8601 time");
            if (scan.skip(':')) {
                if ((minute = scan.digits(2)) < 0) throw new DateTimeException("not an ISO 8601 time");
                if (scan.skip(':')) {
                    if ((second = scan.digits(2)) < 0) throw new DateTimeException("not an ISO 8601 time");
                    if (scan.skip('.') || scan.skip(',')) {
                        int from = scan.at;
                        while (scan.at - from < 6 && scan.digit()) scan.at++;
                        if (scan.at == from) throw new DateTimeException("not an ISO 8601 time");
                        nanos = Integer.parseInt((text.substring(from, scan.at) + "000000").substring(0, 6)) * 1000;
                    }
                }
            }
        }
        ZoneOffset zone = ZoneOffset.UTC;
        if (!scan.skip('Z') && scan.at < text.length() && (text.charAt(scan.at) == '+' || text.charAt(scan.at) == '-')) {
            int sign = text.charAt(scan.at++) == '-' ? -1 : 1;
            int hours = scan.digits(2);
            scan.skip(':');
            int minutes = scan.digits(2);
            if (hours < 0 || minutes < 0) throw new DateTimeException("not an ISO 8601 time");
            zone = ZoneOffset.ofTotalSeconds(sign * (hours * 60 + minutes) * 60);
        }
        if (scan.at != text.length()) throw new DateTimeException("not an ISO 8601 time");
        return LocalDateTime.of(year, month, day, hour, minute, second, nanos).toInstant(zone);
    }

    /** A position in a text being read. */
    private static final class Scan {
        final String text;
        int at;

        Scan(String text) {
            this.text = text;
        }

        boolean digit() {
            return at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9';
        }

        /** The value of exactly {@code n} ASCII digits here, consumed; -1 (nothing consumed) otherwise. */
        int digits(int n) {
            if (at + n > text.length()) return -1;
            int value = 0;
            for (int i = at; i < at + n; i++) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') return -1;
                value = value * 10 + (c - '0');
            }
            at += n;
            return value;
        }

        boolean skip(char c) {
            if (at < text.length() && text.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }
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
