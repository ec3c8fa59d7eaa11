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

void lc_state_parse(lc_state *s, const char *raw, size_t len) {
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
            const json_t *signed_doc = json_object_get(fields, "signed");
            s->signed_doc = json_is_object(signed_doc) ? json_incref((json_t *)signed_doc) : NULL;
            s->device = strdup(json_string_value(device));
            s->secret = strdup(json_string_value(secret));
            s->token = string_field(fields, "token");
            s->last_seen = string_field(fields, "last_seen");
            s->last_usage_report = string_field(fields, "last_usage_report");
            const json_t *offset = json_object_get(fields, "clock_offset"); /* missing (older states): none */
            s->clock_offset = json_is_integer(offset) ? json_integer_value(offset) : 0;
            s->install_reported = json_is_true(json_object_get(fields, "install_reported"));
            s->facts_opt_out = json_is_true(json_object_get(fields, "facts_opt_out"));
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
    char *raw = malloc(MAX_STATE_BYTES + 1);
    size_t n = raw ? fread(raw, 1, MAX_STATE_BYTES + 1, f) : 0;
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
