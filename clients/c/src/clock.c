/* Timestamps as the core writes and reads them: ISO 8601, UTC, `Z` suffix; ms since the epoch. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int lc_parse_iso(const char *s, long long *ms) {
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
    size_t n = strlen(s), i = 10;
    if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
        return -1;
    if (i < n && (s[i] == 'T' || s[i] == ' ')) {
        if (i + 3 > n || digits(s + i + 1, 2, &h)) return -1;
        i += 3;
        if (i < n && s[i] == ':') {
            if (i + 3 > n || digits(s + i + 1, 2, &mi)) return -1;
            i += 3;
            if (i < n && s[i] == ':') {
                if (i + 3 > n || digits(s + i + 1, 2, &sec)) return -1;
                i += 3;
                if (i < n && (s[i] == '.' || s[i] == ',')) {
                    int count = 0, scale = 100;
                    for (i++; i < n && isdigit((unsigned char)s[i]); i++, count++) {
                        frac_ms += (s[i] - '0') * scale;
                        scale /= 10;
                    }
                    if (count < 1 || count > 6) return -1;
                }
            }
        }
    }
    long long offset_min = 0;
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        int sign = s[i] == '-' ? -1 : 1;
        if (i + 3 > n || digits(s + i + 1, 2, &oh)) return -1;
        i += 3;
        if (i < n && s[i] == ':') i++;
        if (i + 2 > n || digits(s + i, 2, &om)) return -1;
        i += 2;
        offset_min = sign * (oh * 60 + om);
    }
    if (i != n || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return -1;
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[mo - 1] || (mo == 2 && d == 29 && !leap)) return -1;
    long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms = ((days * 24 + h) * 60 + mi - offset_min) * 60000LL + sec * 1000LL + frac_ms;
    return 0;
}

void lc_format_iso(long long ms, char out[21]) {
    long long secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    long long rem = secs - days * 86400;
    /* civil_from_days (Howard Hinnant's algorithm) */
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = (long long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char text[64];
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    snprintf(text, sizeof text, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y, m % 100, d % 100, rem / 3600 % 100,
             rem / 60 % 60, rem % 60);
    memcpy(out, text, 20);
    out[20] = '\0';
}

/* last_seen is written at most this often on offline checks: a write (with fsync) per check would cost far
 * more than the signature check itself, and a clock wound back by less than this plus the tolerance buys
 * almost nothing. */
#define LAST_SEEN_STEP_MS (10LL * 60 * 1000)

int lc_rolled_back(long long last_seen, long long now, long long tolerance_ms) {
    return last_seen != LC_NO_TIME && now + tolerance_ms < last_seen;
}

/*
 * An answer bound to its request sets last_seen to now whatever it was: a clock that once ran days ahead
 * and was put right would otherwise deny every offline check until the real time caught up (the answer
 * also measured the clock's offset, so this grants nothing). An offline check moves it forward only, and
 * at most every LAST_SEEN_STEP_MS.
 */
long long lc_seen(long long last_seen, long long now, int answered) {
    return answered || last_seen == LC_NO_TIME || now - last_seen > LAST_SEEN_STEP_MS ? now : last_seen;
}
