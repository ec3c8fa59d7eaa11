/*
 * Local state in <data_dir>/state.json, in the Python SDK's format (version 2):
 * written atomically (see lc_write_file_atomic) and sealed with HMAC-SHA256 under a key derived from the device
 * secret. An edited or damaged file is no state: offline it grants nothing.
 * The secret sits in the same file, so the seal stops casual edits, not the
 * machine's owner; what the server signed is re-verified on every use anyway.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "state.h"

#define MAX_STATE_BYTES (1 << 20)
static const char MAC_LABEL[] = "licentia-client state mac v1";

static void state_mac(const char *device, const char *secret, const char *body, size_t body_len, char out[65]) {
    unsigned char key[crypto_auth_hmacsha256_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)MAC_LABEL, strlen(MAC_LABEL));
    crypto_auth_hmacsha256_final(&st, key);
    crypto_auth_hmacsha256_init(&st, key, sizeof key);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)device, strlen(device));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
    sodium_memzero(key, sizeof key);
}

void lc_state_clear(lc_state *s) {
    json_decref(s->signed_doc);
    if (s->secret) sodium_memzero(s->secret, strlen(s->secret));
    free(s->device), free(s->secret), free(s->token), free(s->last_seen), free(s->last_usage_report);
    memset(s, 0, sizeof *s);
}

static char *string_field(const json_t *obj, const char *name) {
    const json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* The user's opt-out, read even from a damaged file: honouring it can only send less. */
static int opted_out(const json_t *outer) {
    const json_t *body = json_object_get(outer, "state");
    return json_is_true(json_object_get(outer, "facts_opt_out")) ||
           (json_is_string(body) && strstr(json_string_value(body), "\"facts_opt_out\":true"));
}

/* A state written by an SDK before seals (format 1), sealed at its next save: its credential, document and token. */
static void parse_unsealed(lc_state *s, const json_t *old) {
    const json_t *cred = json_object_get(old, "credential"), *signed_doc = json_object_get(old, "signed");
    const json_t *device = json_array_get(cred, 0), *secret = json_array_get(cred, 1);
    s->facts_opt_out = json_is_true(json_object_get(old, "facts_opt_out"));
    if (!json_is_array(cred) || json_array_size(cred) != 2 || !json_is_string(device) || !json_is_string(secret) ||
        !json_string_length(device) || !json_string_length(secret))
        return;
    s->device = strdup(json_string_value(device));
    s->secret = strdup(json_string_value(secret));
    s->signed_doc = json_is_object(signed_doc) ? json_incref((json_t *)signed_doc) : NULL;
    s->token = string_field(old, "token");
    s->install_reported = json_is_true(json_object_get(old, "install_reported"));
}

/* The fields of a sealed state whose seal matched. */
static void sealed_fields(lc_state *s, const json_t *fields, const char *device, const char *secret) {
    const json_t *signed_doc = json_object_get(fields, "signed");
    s->signed_doc = json_is_object(signed_doc) ? json_incref((json_t *)signed_doc) : NULL;
    s->device = strdup(device);
    s->secret = strdup(secret);
    s->token = string_field(fields, "token");
    s->last_seen = string_field(fields, "last_seen");
    s->last_usage_report = string_field(fields, "last_usage_report");
    const json_t *offset = json_object_get(fields, "clock_offset"); /* missing (older states): none */
    s->clock_offset = json_is_integer(offset) ? json_integer_value(offset) : 0;
    s->install_reported = json_is_true(json_object_get(fields, "install_reported"));
    s->facts_opt_out = json_is_true(json_object_get(fields, "facts_opt_out"));
}

static const char *json_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A JSON string at p: decoded into out (room for end - p bytes), its end past the quote; NULL for anything but
 * printable ASCII and the short escapes (the full parser decides those). */
static const char *json_plain_string(const char *p, const char *end, char *out, size_t *out_len) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t n = 0;
    if (p >= end || *p++ != '"') return NULL;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p++;
        if (c < 0x20 || c >= 0x80) return NULL;
        if (c == '\\') {
            const char *esc = p < end && *p ? strchr(from, *p) : NULL;
            if (!esc) return NULL;
            c = (unsigned char)to[esc - from], p++;
        }
        out[n++] = (char)c;
    }
    if (p >= end) return NULL;
    out[n] = '\0', *out_len = n;
    return p + 1;
}

/*
 * The common case read without building the outer object (its parse cost as much as the rest of the state's):
 * exactly {"format":2,"device":..,"secret":..,"state":..,"mac":..} in any order, plain strings, a matching seal
 * and a state that is an object. 0 when s was filled; -1 for anything else, left to the full parser (the
 * result is the same, so a damaged or unusual file is judged by one code path).
 */
static int parse_sealed_fast(lc_state *s, const char *raw, size_t len) {
    static const char *names[] = {"device", "secret", "state", "mac"};
    const char *end = raw + len, *p = json_space(raw, end);
    char *buf = malloc(len + 1), *values[4] = {NULL}, *next = buf;
    size_t lengths[4] = {0};
    int format = 0, rc = -1;
    if (!buf || p >= end || *p++ != '{') goto done;
    for (int fields = 0;; fields++) {
        char key[8];
        size_t key_len, i;
        p = json_space(p, end);
        if (fields > 0) {
            if (p < end && *p == '}') break;
            if (p >= end || *p++ != ',') goto done;
            p = json_space(p, end);
        }
        if (p >= end || *p++ != '"') goto done;
        for (key_len = 0; p < end && key_len < sizeof key - 1 && *p >= 'a' && *p <= 'z'; p++) key[key_len++] = *p;
        key[key_len] = '\0';
        if (p >= end || *p++ != '"') goto done; /* a key of another form: the full parser */
        p = json_space(p, end);
        if (p >= end || *p++ != ':') goto done;
        p = json_space(p, end);
        if (strcmp(key, "format") == 0) {
            if (format || p >= end || *p++ != '2' || (p < end && *p >= '0' && *p <= '9')) goto done;
            format = 1;
            continue;
        }
        for (i = 0; i < 4 && strcmp(key, names[i]) != 0; i++) {
        }
        if (i == 4 || values[i] || !(p = json_plain_string(p, end, next, &lengths[i])) || !lengths[i]) goto done;
        values[i] = next, next += lengths[i] + 1;
    }
    if (json_space(p + 1, end) != end || !format || !values[0] || !values[1] || !values[2] || !values[3]) goto done;
    char expected[65];
    state_mac(values[0], values[1], values[2], lengths[2], expected);
    if (lengths[3] != 64 || sodium_memcmp(expected, values[3], 64) != 0) goto done;
    json_t *fields = lc_parse(values[2], lengths[2]);
    if (json_is_object(fields)) {
        memset(s, 0, sizeof *s);
        sealed_fields(s, fields, values[0], values[1]);
        rc = 0;
    }
    json_decref(fields);
done:
    if (buf) sodium_memzero(buf, len + 1); /* it held the secret */
    free(buf);
    return rc;
}

void lc_state_parse(lc_state *s, const char *raw, size_t len) {
    if (parse_sealed_fast(s, raw, len) == 0) return;
    json_t *outer = lc_parse(raw, len);
    memset(s, 0, sizeof *s);
    if (!json_is_object(outer)) {
        s->corrupt = 1;
        json_decref(outer);
        return;
    }
    const json_t *format = json_object_get(outer, "format");
    const json_t *device = json_object_get(outer, "device"), *secret = json_object_get(outer, "secret");
    const json_t *body = json_object_get(outer, "state"), *mac = json_object_get(outer, "mac");
    if (json_is_integer(format) && json_integer_value(format) == 1) {
        parse_unsealed(s, outer);
    } else if (!json_is_integer(format) || json_integer_value(format) != 2) {
        s->corrupt = 1;
        s->facts_opt_out = opted_out(outer);
    } else if (!device && !secret && !body && !mac) {
        s->facts_opt_out = json_is_true(json_object_get(outer, "facts_opt_out")); /* before the first credential */
    } else if (!json_is_string(device) || !json_is_string(secret) || !json_is_string(body) || !json_is_string(mac) ||
               !json_string_length(device) || !json_string_length(secret) || !json_string_length(body) ||
               !json_string_length(mac)) {
        s->corrupt = 1;
        s->facts_opt_out = opted_out(outer);
    } else {
        char expected[65];
        state_mac(json_string_value(device), json_string_value(secret), json_string_value(body), json_string_length(body),
                  expected);
        json_t *fields = NULL;
        if (json_string_length(mac) == 64 && sodium_memcmp(expected, json_string_value(mac), 64) == 0)
            fields = lc_parse(json_string_value(body), json_string_length(body));
        if (!json_is_object(fields)) {
            s->corrupt = 1;
            s->facts_opt_out = opted_out(outer);
        } else {
            sealed_fields(s, fields, json_string_value(device), json_string_value(secret));
        }
        json_decref(fields);
    }
    json_decref(outer);
}

void lc_state_load(const char *data_dir, lc_state *s) {
    char path[4096];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s/state.json", data_dir);
    FILE *f = lc_open_read(path);
    if (!f) {
        s->corrupt = errno != ENOENT;
        return;
    }
    /* A buffer grown from 16 KiB (a state is a few KiB), not the whole limit at every check. */
    size_t cap = 16384, n = 0, got;
    char *raw = malloc(cap);
    while (raw && (got = fread(raw + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap) continue;
        if (n > MAX_STATE_BYTES) break;
        size_t bigger = cap * 2 > MAX_STATE_BYTES + 1 ? MAX_STATE_BYTES + 1 : cap * 2;
        char *grown = realloc(raw, bigger);
        if (!grown) free(raw);
        raw = grown, cap = bigger;
    }
    fclose(f);
    if (!raw || n > MAX_STATE_BYTES) s->corrupt = 1;
    else lc_state_parse(s, raw, n);
    free(raw);
}

licentia_error lc_state_save(const char *data_dir, const lc_state *s) {
    json_t *outer;
    if (!s->device || !s->secret) {
        outer = json_pack("{s:i, s:b}", "format", 2, "facts_opt_out", s->facts_opt_out);
    } else {
        json_t *fields = json_pack("{s:O?, s:s?, s:b, s:s?, s:s?, s:I, s:b}", "signed", s->signed_doc, "token", s->token,
                                   "install_reported", s->install_reported, "last_usage_report", s->last_usage_report,
                                   "last_seen", s->last_seen, "clock_offset", (json_int_t)s->clock_offset,
                                   "facts_opt_out", s->facts_opt_out);
        lc_buf body = {0};
        if (!fields || lc_canonical(fields, &body) != 0) {
            json_decref(fields);
            lc_buf_free(&body);
            return LICENTIA_E_NOMEM;
        }
        json_decref(fields);
        char mac[65];
        state_mac(s->device, s->secret, body.data, body.len, mac);
        outer = json_pack("{s:i, s:s, s:s, s:s%, s:s}", "format", 2, "device", s->device, "secret", s->secret, "state",
                          body.data, body.len, "mac", mac);
        lc_buf_free(&body);
    }
    if (!outer) return LICENTIA_E_NOMEM;
    char *text = json_dumps(outer, JSON_COMPACT | JSON_ALLOW_NUL);
    json_decref(outer);
    if (!text) return LICENTIA_E_NOMEM;
    int rc = lc_write_file_atomic(data_dir, "state.json", text, strlen(text));
    sodium_memzero(text, strlen(text));
    free(text);
    return rc == 0 ? LICENTIA_OK : LICENTIA_E_IO;
}
