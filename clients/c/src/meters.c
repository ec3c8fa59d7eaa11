/*
 * Metered use (meters.py): POST /v1/consume. The server counts; the library only asks. Each
 * consumption carries an idempotency key chosen once, so the retries after a network error (the
 * answer may have been lost after the server counted) are counted once. Past the limit:
 * LICENTIA_E_QUOTA_EXCEEDED with the figures of the refusal.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"

#define ATTEMPTS 3
#define MAX_AMOUNT 9007199254740991LL /* 2^53 - 1 */

static int is_meter_name(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 64 || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int is_idempotency_key(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
    return 1;
}

static int whole(const json_t *v, long long *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_AMOUNT) return -1;
    *out = json_integer_value(v);
    return 0;
}

/* The server's figures, checked field by field (meters.consumption_of): every one present; -1 for anything malformed. */
int lc_consumption_of(const json_t *v, licentia_consumption *out) {
    licentia_consumption c;
    memset(&c, 0, sizeof c);
    const json_t *m = json_object_get(v, "meter"), *period = json_object_get(v, "period");
    const json_t *start = json_object_get(v, "period_start"), *end = json_object_get(v, "period_end");
    long long ms;
    if (!json_is_object(v) || !json_is_string(m) || whole(json_object_get(v, "used"), &c.used) ||
        whole(json_object_get(v, "limit"), &c.limit) || whole(json_object_get(v, "remaining"), &c.remaining) ||
        !json_is_string(period) || !json_is_string(start) || lc_parse_iso(json_string_value(start), &ms) != 0 || !end ||
        (!json_is_null(end) && (!json_is_string(end) || lc_parse_iso(json_string_value(end), &ms) != 0)))
        return -1;
    snprintf(c.meter, sizeof c.meter, "%s", json_string_value(m));
    snprintf(c.period, sizeof c.period, "%s", json_string_value(period));
    lc_parse_iso(json_string_value(start), &ms), lc_format_iso(ms, c.period_start);
    if (json_is_string(end)) lc_parse_iso(json_string_value(end), &ms), lc_format_iso(ms, c.period_end);
    c.replayed = json_is_true(json_object_get(v, "replayed"));
    *out = c;
    return 0;
}

/* The figures a quota_exceeded refusal carries beside its code (plain fields; the meter asked when absent), else nothing left. */
static void quota_figures(const json_t *error, const char *meter, long long now_ms, licentia_consumption *out) {
    json_t *figures = json_object();
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)error, name, value) {
        if (strcmp(name, "code") && strcmp(name, "message") &&
            (json_is_string(value) || json_is_integer(value) || json_is_boolean(value) || json_is_null(value)))
            json_object_set(figures, name, value);
    }
    if (figures && !json_object_get(figures, "meter")) json_object_set_new(figures, "meter", json_string(meter));
    if (!figures || lc_consumption_of(figures, out) != 0) {
        memset(out, 0, sizeof *out);
        snprintf(out->meter, sizeof out->meter, "%s", meter);
        snprintf(out->period, sizeof out->period, "unknown");
        lc_format_iso(now_ms, out->period_start);
    }
    json_decref(figures);
}

const char *lc_consumption_outcome(const char *meter, long long now_ms, long status, const char *body, size_t length,
                                   licentia_consumption *out, char code[101]) {
    json_t *parsed = lc_parse(body ? body : "", body ? length : 0);
    const char *outcome;
    code[0] = '\0';
    memset(out, 0, sizeof *out);
    if (status >= 500) {
        outcome = "offline";
    } else if (status < 400) {
        outcome = lc_consumption_of(parsed, out) == 0 ? "consumed" : "invalid_answer";
    } else {
        const json_t *error = json_object_get(parsed, "error");
        const json_t *c = json_object_get(error, "code"), *message = json_object_get(error, "message");
        snprintf(code, 101, "%s", json_is_string(c) && json_is_string(message) ? json_string_value(c) : LICENTIA_REFUSAL_HTTP_ERROR);
        if (!strcmp(code, LICENTIA_REFUSAL_QUOTA_EXCEEDED)) {
            outcome = "quota_exceeded";
            quota_figures(error, meter, now_ms, out);
        } else if (!strcmp(code, LICENTIA_REFUSAL_STALE_TOKEN) || !strcmp(code, LICENTIA_REFUSAL_INVALID_CREDENTIAL)) {
            outcome = "check_and_retry";
        } else {
            outcome = "refused";
        }
    }
    json_decref(parsed);
    return outcome;
}

licentia_error licentia_consume(licentia *h, const char *meter, long long amount, const char *idempotency_key,
                                licentia_consumption *out) {
    licentia_consumption ignored;
    if (!out) out = &ignored;
    memset(out, 0, sizeof *out);
    if (!h || !meter || !is_meter_name(meter) || amount < 0 || amount > MAX_AMOUNT ||
        (idempotency_key && !is_idempotency_key(idempotency_key)))
        return LICENTIA_E_ARGUMENT;
    char key[65];
    if (idempotency_key) {
        snprintf(key, sizeof key, "%s", idempotency_key);
    } else {
        unsigned char raw[16];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(key, sizeof key, raw, sizeof raw);
    }
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    c.deadline = lc_monotonic_ms() + h->timeout_ms * ATTEMPTS; /* the same key every attempt */
    licentia_error rc = LICENTIA_E_OFFLINE;
    int refreshed = 0;
    json_t *answer = NULL;
    for (int attempt = 1; attempt <= ATTEMPTS + 1 && lc_monotonic_ms() < c.deadline; attempt++) {
        licentia_status *st = NULL;
        if (!state.device) {
            rc = lc_device_call(&c, "/v1/check", NULL, &st);
            licentia_status_free(st), st = NULL;
            if (rc != LICENTIA_OK && rc != LICENTIA_E_IO) break;
        }
        json_t *body = json_pack("{s:s, s:I, s:s?, s:s}", "meter", meter, "amount", (json_int_t)amount, "token", state.token,
                                 "idempotency_key", key);
        if (!body) {
            rc = LICENTIA_E_NOMEM;
            break;
        }
        rc = lc_exchange(h->server_url, "POST", "/v1/consume", body, state.device, state.secret,
                         (long)(c.deadline - lc_monotonic_ms()), &answer, &h->refusal);
        json_decref(body);
        if (rc == LICENTIA_E_REFUSED && !refreshed &&
            (!strcmp(h->refusal.code, LICENTIA_REFUSAL_STALE_TOKEN) || !strcmp(h->refusal.code, LICENTIA_REFUSAL_INVALID_CREDENTIAL))) {
            /* Another process of this installation rotated the token (or the secret was replaced): one check brings the live ones. */
            refreshed = 1;
            if (!strcmp(h->refusal.code, LICENTIA_REFUSAL_INVALID_CREDENTIAL)) c.escrow_read = 1;
            rc = lc_device_call(&c, "/v1/check", NULL, &st);
            licentia_status_free(st);
            if (rc != LICENTIA_OK && rc != LICENTIA_E_IO) break;
            continue;
        }
        if (rc != LICENTIA_E_OFFLINE || attempt >= ATTEMPTS) break;
    }
    if (rc == LICENTIA_OK && lc_consumption_of(answer, out) != 0) {
        rc = LICENTIA_E_INVALID_DOCUMENT;
        lc_refusal_word(&h->refusal, LICENTIA_ANSWER_INVALID_DOCUMENT);
    } else if (rc == LICENTIA_E_REFUSED && !strcmp(h->refusal.code, LICENTIA_REFUSAL_QUOTA_EXCEEDED)) {
        rc = LICENTIA_E_QUOTA_EXCEEDED;
        /* The refusal's plain fields (a null period_end is not kept among them: none); unreadable, nothing left. */
        json_t *error = h->refusal.details ? json_deep_copy(h->refusal.details) : json_object();
        if (error && !json_object_get(error, "period_end")) json_object_set_new(error, "period_end", json_null());
        quota_figures(error, meter, lc_realtime_ms(), out);
        json_decref(error);
    }
    json_decref(answer);
    lc_call_end(&c);
    return rc;
}
