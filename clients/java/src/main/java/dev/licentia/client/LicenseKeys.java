package dev.licentia.client;

import java.util.Locale;
import java.util.TreeSet;

/** License keys as humans type them: grouped, no ambiguous characters, a Luhn mod 32 check character. */
final class LicenseKeys {
    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    private static final int BODY = 24;

    private LicenseKeys() {}

    private static char checkChar(String body) {
        // Luhn mod 32: catches every single substitution and every adjacent swap but A<->9.
        int factor = 2;
        int total = 0;
        for (int i = body.length() - 1; i >= 0; i--) {
            int addend = factor * ALPHABET.indexOf(body.charAt(i));
            factor = factor == 2 ? 1 : 2;
            total += addend / 32 + addend % 32;
        }
        return ALPHABET.charAt((32 - total % 32) % 32);
    }

    /** The canonical grouped form of a typed key; a typo throws before any network call. */
    static String normalize(String text) {
        if (text == null) throw new InvalidLicenseKeyException("no license key");
        StringBuilder compact = new StringBuilder();
        text.toUpperCase(Locale.ROOT).codePoints()
                .filter(c -> c != ' ' && c != '-' && c != '\t')
                .forEach(compact::appendCodePoint);
        int length = compact.codePointCount(0, compact.length());
        if (length != BODY + 1) {
            throw new InvalidLicenseKeyException("a license key has " + (BODY + 1) + " characters, this one has " + length);
        }
        TreeSet<String> bad = new TreeSet<>();
        compact.codePoints().filter(c -> ALPHABET.indexOf(c) < 0).forEach(c -> bad.add(new String(Character.toChars(c))));
        if (!bad.isEmpty()) {
            throw new InvalidLicenseKeyException("a license key cannot contain \"" + String.join("", bad) + "\"");
        }
        String key = compact.toString();
        if (checkChar(key.substring(0, BODY)) != key.charAt(BODY)) {
            throw new InvalidLicenseKeyException("the license key has a typo (its check character does not match)");
        }
        StringBuilder grouped = new StringBuilder();
        for (int i = 0; i < key.length(); i += 5) {
            if (i > 0) grouped.append('-');
            grouped.append(key, i, i + 5);
        }
        return grouped.toString();
    }

    /** The first five characters: the only part of a mistyped key ever reported. */
    static String prefix(String key) {
        String compact = key.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "");
        return compact.substring(0, Math.min(5, compact.length()));
    }
}
