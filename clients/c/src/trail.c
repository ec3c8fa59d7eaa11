/*
 * The proxy-log trail and the usage reports' schedule, as the signed status document asks
 * (docs/web-api.md, "The proxy-log trail"; the Python SDK's client/trail.py and core/trail.py).
 *
 * With "proxy_trail": true in the stored signed document, each install, register and usage event
 * goes first as plain GETs whose query carries its version and facts (never the license key or the
 * credential), then in its POST as always. The POST is the record: a failed GET is ignored, and the
 * GETs take at most half of the time left to the flush. With "usage_report_once": true, a
 * registered installation reports usage once only, usage_report_days after registered_at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "platform.h"
#include "trail.h"

#define MAX_TARGET 2000 /* the longest request target Internet Explorer and many proxies take */
#define END "&end=1"
#define END_LEN 6
#define DAY_MS 86400000LL

static const char *const FACTS[] = {"computer_name", "user_name",   "domain",    "os_name",
                                    "os_version",    "internal_ip", "local_time", "time_zone",
                                    "locale",        "country",     "registered_owner", "registered_organization"};

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->failed) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->s = grown, t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static int unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

/* RFC 3986 percent-encoding of `n` UTF-8 bytes, appended to `t`. */
static void put_encoded(text *t, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            put(t, (const char *)&c, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", c);
            put(t, hex, 3);
        }
    }
}

static size_t encoded_len(const char *s, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += unreserved((unsigned char)s[i]) ? 1 : 3;
    return len;
}

/* The bytes of the UTF-8 character starting at s[0] (Jansson holds valid UTF-8). */
static size_t char_len(unsigned char c) { return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1; }

/* A field's value as the query carries it, or NULL when it has none (written into `buf` for numbers). */
static const char *field_text(const json_t *v, char *buf, size_t size, size_t *n) {
    if (json_is_string(v)) {
        *n = json_string_length(v);
        return *n ? json_string_value(v) : NULL;
    }
    if (json_is_boolean(v)) {
        *n = json_is_true(v) ? 4 : 5;
        return json_is_true(v) ? "true" : "false";
    }
    if (json_is_integer(v)) {
        *n = (size_t)snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static void head(text *t, const char *product, const char *mode, const char *event_id, int part) {
    char n[16];
    t->len = 0;
    put(t, "/v1/trail?p=", 12);
    put_encoded(t, product, strlen(product));
    put(t, "&m=", 3);
    put_encoded(t, mode, strlen(mode));
    put(t, "&i=", 3);
    put_encoded(t, event_id, strlen(event_id));
    snprintf(n, sizeof n, "&n=%d", part);
    put(t, n, strlen(n));
}

static void one_field(json_t *parts, text *t, size_t *fresh, int *part, const char *name, const char *value, size_t n,
                      const char *product, const char *mode, const char *event_id) {
    size_t name_len = strlen(name) + 2; /* "&name=" */
    if (t->len + name_len + encoded_len(value, n) + END_LEN > MAX_TARGET && t->len != *fresh) {
        json_array_append_new(parts, json_stringn(t->s, t->len));
        head(t, product, mode, event_id, ++*part);
        *fresh = t->len;
    }
    put(t, "&", 1);
    put(t, name, strlen(name));
    put(t, "=", 1);
    size_t room = MAX_TARGET - END_LEN, i = 0;
    while (i < n) { /* whole characters while they fit: a field longer than a part is cut */
        size_t step = char_len((unsigned char)value[i]);
        if (step > n - i) step = n - i;
        if (t->len + encoded_len(value + i, step) > room) break;
        put_encoded(t, value + i, step);
        i += step;
    }
}

json_t *lc_trail_targets(const char *product, const char *mode, const char *event_id, const json_t *fields) {
    json_t *parts = json_array();
    text t = {0};
    int part = 1;
    head(&t, product, mode, event_id, part);
    size_t fresh = t.len;
    char name[32], buf[32];
    for (size_t k = 0; k < 1 + 12 + 20; k++) {
        if (k == 0) snprintf(name, sizeof name, "version");
        else if (k <= 12) snprintf(name, sizeof name, "%s", FACTS[k - 1]);
        else snprintf(name, sizeof name, "%s_%zu", k <= 22 ? "author" : "tracker", k <= 22 ? k - 12 : k - 22);
        size_t n = 0;
        const char *value = field_text(json_object_get(fields, name), buf, sizeof buf, &n);
        if (value) one_field(parts, &t, &fresh, &part, name, value, n, product, mode, event_id);
    }
    put(&t, END, END_LEN);
    if (t.failed || !parts) {
        free(t.s);
        json_decref(parts);
        return NULL;
    }
    json_array_append_new(parts, json_stringn(t.s, t.len));
    free(t.s);
    return parts;
}

int lc_usage_due(const json_t *doc, const char *last_report, long long now_ms) {
    const json_t *every = json_object_get(doc, "usage_report_days");
    long long last, registered;
    if (json_is_true(json_object_get(doc, "usage_report_once"))) {
        const json_t *at = json_object_get(doc, "registered_at");
        long long days = json_is_integer(every) && json_integer_value(every) > 0 && json_integer_value(every) < 10000
                             ? json_integer_value(every)
                             : 1;
        if (last_report || !json_is_string(at) || lc_parse_iso(json_string_value(at), &registered) != 0) return 0;
        return now_ms - registered >= days * DAY_MS;
    }
    long long days = json_is_integer(every) && json_integer_value(every) > 0 ? json_integer_value(every) : 1;
    int known = last_report && lc_parse_iso(last_report, &last) == 0;
    return !known || now_ms - last >= days * DAY_MS || now_ms < last;
}

void lc_send_trail(const char *base, const char *product, const json_t *events, long long deadline) {
    long long now = lc_monotonic_ms(), until = now + (deadline > now ? (deadline - now) / 2 : 0);
    size_t i;
    const json_t *event;
    json_array_foreach(events, i, event) {
        const char *kind = json_string_value(json_object_get(event, "kind"));
        const char *id = json_string_value(json_object_get(event, "id"));
        if (!kind || !id ||
            (strcmp(kind, LICENTIA_EVENT_INSTALL) && strcmp(kind, LICENTIA_EVENT_REGISTER) && strcmp(kind, LICENTIA_EVENT_USAGE)))
            continue;
        const json_t *facts = json_object_get(event, "facts");
        json_t *fields = json_is_object(facts) ? json_copy((json_t *)facts) : json_object();
        json_t *version = json_object_get(json_object_get(event, "data"), "app_version");
        if (fields && version) json_object_set(fields, "version", version);
        json_t *targets = fields ? lc_trail_targets(product, kind, id, fields) : NULL;
        json_decref(fields);
        size_t j;
        const json_t *target;
        json_array_foreach(targets, j, target) {
            long left = (long)(until - lc_monotonic_ms());
            if (left <= 0) break;
            json_t *answer = NULL;
            /* No credential; the answer (204, no body) is not read: the POST is the record. */
            (void)lc_exchange(base, "GET", json_string_value(target), NULL, NULL, NULL, left, &answer, NULL);
            json_decref(answer);
        }
        json_decref(targets);
    }
}
