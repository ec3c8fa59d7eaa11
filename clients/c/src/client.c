/*
 * The handle: check, activate, deactivate with the Python SDK's protocol (the
 * device credential header, token rotation, only verified documents stored,
 * the hardware read afresh on every check, the sealed state file, the
 * credential kept outside the data directory for a reinstall).
 */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escrow.h"
#include "http.h"
#include "internal.h"
#include "platform.h"
#include "handle.h"
#include "queue.h"
#include "state.h"



static int dependencies_ready = 0;

/* libsodium and libcurl need one initialisation per process before any thread uses them. */
static void init_dependencies(void) {
    dependencies_ready = sodium_init() >= 0 && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static long long now_ms(const licentia *h) { return h->fixed_now != LC_NO_TIME ? h->fixed_now : lc_realtime_ms(); }

static int replace(char **field, const char *value) {
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy) return -1;
    free(*field);
    *field = copy;
    return 0;
}

licentia_error licentia_open(licentia **out, const char *server_url, const char *product, const char *public_keys,
                             const char *data_dir) {
    if (!out) return LICENTIA_E_ARGUMENT;
    *out = NULL;
    lc_once(init_dependencies);
    if (!dependencies_ready) return LICENTIA_E_NOMEM;
    if (!server_url || (strncmp(server_url, "http://", 7) != 0 && strncmp(server_url, "https://", 8) != 0) || !product ||
        !*product || strspn(product, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(product) || !data_dir || !*data_dir)
        return LICENTIA_E_ARGUMENT;
    licentia *h = calloc(1, sizeof *h);
    if (!h) return LICENTIA_E_NOMEM;
    licentia_error rc = lc_keyset_parse(public_keys, &h->keys);
    if (rc != LICENTIA_OK) {
        free(h);
        return rc;
    }
    h->data_dir = lc_absolute_path(data_dir); /* hashed as the data path: the same string as the other SDKs */
    h->server_url = strdup(server_url);
    h->product = strdup(product);
    h->channel = strdup("stable");
    h->timeout_ms = 3000;
    h->tolerance_ms = 2LL * 3600 * 1000;
    h->fixed_now = LC_NO_TIME;
    h->refusal.retry_after = -1;
    if (!h->data_dir || !h->server_url || !h->product || !h->channel || lc_mutex_init(&h->lock) != 0) {
        free(h->data_dir), free(h->server_url), free(h->product), free(h->channel);
        lc_keyset_free(&h->keys);
        free(h);
        return LICENTIA_E_NOMEM;
    }
    size_t ul = strlen(h->server_url);
    while (ul > 8 && h->server_url[ul - 1] == '/') h->server_url[--ul] = '\0';
    *out = h;
    return LICENTIA_OK;
}

licentia_error licentia_set_option(licentia *h, licentia_option option, const char *value) {
    if (!h || !value) return LICENTIA_E_ARGUMENT;
    char *end = NULL;
    long long number = strtoll(value, &end, 10);
    int is_number = *value && end && *end == '\0';
    licentia_error rc = LICENTIA_OK;
    lc_mutex_lock(&h->lock);
    switch (option) {
    case LICENTIA_OPT_TIMEOUT_MS:
        if (is_number && number > 0 && number < 600000) h->timeout_ms = (long)number;
        else rc = LICENTIA_E_ARGUMENT;
        break;
    case LICENTIA_OPT_ROLLBACK_TOLERANCE_S:
        if (is_number && number >= 0 && number < 365LL * 86400) h->tolerance_ms = number * 1000;
        else rc = LICENTIA_E_ARGUMENT;
        break;
    case LICENTIA_OPT_APP_VERSION: rc = replace(&h->app_version, *value ? value : NULL) ? LICENTIA_E_NOMEM : LICENTIA_OK; break;
    case LICENTIA_OPT_CHANNEL: rc = *value ? (replace(&h->channel, value) ? LICENTIA_E_NOMEM : LICENTIA_OK) : LICENTIA_E_ARGUMENT; break;
    case LICENTIA_OPT_INSTALLER_TICKET: rc = replace(&h->ticket, *value ? value : NULL) ? LICENTIA_E_NOMEM : LICENTIA_OK; break;
    case LICENTIA_OPT_FINGERPRINT_ROOT: rc = replace(&h->root, *value ? value : NULL) ? LICENTIA_E_NOMEM : LICENTIA_OK; break;
    case LICENTIA_OPT_NOW:
        if (!*value) h->fixed_now = LC_NO_TIME;
        else if (lc_parse_iso(value, &h->fixed_now) != 0) rc = LICENTIA_E_ARGUMENT;
        break;
    default: rc = LICENTIA_E_ARGUMENT;
    }
    lc_mutex_unlock(&h->lock);
    return rc;
}

void licentia_close(licentia *h) {
    if (!h) return;
    lc_mutex_destroy(&h->lock);
    lc_refusal_clear(&h->refusal);
    free(h->server_url), free(h->product), free(h->data_dir), free(h->app_version), free(h->channel), free(h->root);
    free(h->ticket);
    lc_keyset_free(&h->keys);
    free(h);
}

void licentia_last_refusal(licentia *h, char *buf, size_t size) {
    if (!buf || !size) return;
    buf[0] = '\0';
    if (!h) return;
    lc_mutex_lock(&h->lock);
    snprintf(buf, size, "%s", h->refusal.code);
    lc_mutex_unlock(&h->lock);
}

long long licentia_last_retry_after(licentia *h) {
    if (!h) return -1;
    lc_mutex_lock(&h->lock);
    long long seconds = h->refusal.retry_after;
    lc_mutex_unlock(&h->lock);
    return seconds;
}

int licentia_last_refusal_detail(licentia *h, const char *name, char *buf, size_t size) {
    if (buf && size) buf[0] = '\0';
    if (!h || !name) return 0;
    lc_mutex_lock(&h->lock);
    const json_t *value = json_object_get(h->refusal.details, name);
    int found = value != NULL;
    if (buf && size) {
        if (json_is_string(value)) snprintf(buf, size, "%s", json_string_value(value));
        else if (json_is_integer(value)) snprintf(buf, size, "%lld", (long long)json_integer_value(value));
        else if (json_is_boolean(value)) snprintf(buf, size, "%s", json_is_true(value) ? "true" : "false");
    }
    lc_mutex_unlock(&h->lock);
    return found;
}

/* -- online ------------------------------------------------------------------------ */


static json_t *request_body(const call *c, const char *key, const char *nonce) {
    char os[200];
    lc_os_description(os, sizeof os);
    json_t *components = json_object();
    for (size_t i = 0; components && i < c->fp->count; i++)
        json_object_set_new(components, c->fp->items[i].name, json_string(c->fp->items[i].value));
    json_t *body = json_pack("{s:s, s:{s:o, s:s, s:b}, s:s?, s:s?, s:s, s:s, s:{}, s:s}", "product", c->h->product,
                             "fingerprint", "components", components, "data_path", c->fp->data_path, "virtual", 0,
                             "token", c->state->token, "app_version", c->h->app_version, "os", os, "channel",
                             c->h->channel, "facts", "nonce", nonce);
    if (body && key) json_object_set_new(body, "key", json_string(key));
    /* Resumed from the escrow with no token yet: the server answers a reinstall of this installation. */
    if (body && c->resumed && c->state->device && !c->state->token) json_object_set_new(body, "resumed", json_true());
    return body;
}

/* POST with a fresh nonce; *asked receives what this request asked, to bind the answer to it. */
licentia_error lc_post(call *c, const char *path, const char *key, lc_asked *asked, json_t **answer) {
    lc_new_nonce(asked->nonce);
    asked->device = c->state->device;
    asked->known = c->state->signed_doc;
    json_t *body = request_body(c, key, asked->nonce);
    if (!body) return LICENTIA_E_NOMEM;
    /* An installation's first check, without a credential: the installer ticket beside it, if any. */
    json_t *ticket = !c->state->device && !strcmp(path, "/v1/check") ? lc_installer_ticket(c->h->ticket) : NULL;
    if (ticket) json_object_set_new(body, "installer_ticket", ticket);
    if (c->device_code && !strcmp(path, "/v1/device/token")) json_object_set_new(body, "device_code", json_string(c->device_code));
    licentia_error rc = lc_exchange(c->h->server_url, "POST", path, body, c->state->device, c->state->secret,
                                    (long)(c->deadline - lc_monotonic_ms()), answer, &c->h->refusal);
    json_decref(body);
    return rc;
}

static lc_escrow escrow_of(const call *c) {
    lc_escrow escrow = {c->h->server_url, c->h->product, c->fp->data_path};
    return escrow;
}

/*
 * No credential in the data directory (deleted by an uninstaller, or damaged): a reinstall resumes its
 * installation from the escrow. The server answers the credential without a token as the same
 * installation on this machine; it was reported when first installed, so no install event again.
 */
static void resume(call *c) {
    char *device, *secret;
    if (c->escrow_read) return; /* once: a credential the server voided is not tried twice */
    c->escrow_read = 1;
    lc_escrow escrow = escrow_of(c);
    if (lc_escrow_load(&escrow, &device, &secret) != 0) return;
    replace(&c->state->token, NULL);
    free(c->state->device), free(c->state->secret);
    c->state->device = device, c->state->secret = secret;
    c->state->install_reported = 1;
    c->resumed = 1;
}

/*
 * Take the server's answer only when it verifies and answers this request (answers.c), before
 * anything of it is stored; a refused one leaves the state as it was and names why in the refusal.
 */
licentia_error lc_take_answer(call *c, const lc_asked *asked, json_t *answer, licentia_status **out) {
    long long received = now_ms(c->h);
    lc_answer taken;
    licentia_error rc = lc_accept_answer(answer, asked, &c->h->keys, c->h->product, c->fp, received, &taken);
    if (rc == LICENTIA_E_INVALID_DOCUMENT) lc_refusal_word(&c->h->refusal, taken.refusal);
    if (rc != LICENTIA_OK) return rc;
    const json_t *token = json_object_get(taken.payload, "token");
    int failed = 0;
    /* Always keep a credential when one comes: a re-identified device's old secret is void. A new one is
     * kept outside the data directory too, so that a reinstall resumes this installation. */
    if (taken.credential_device) {
        int fresh = !c->state->device || !c->state->secret || strcmp(c->state->device, taken.credential_device) != 0 ||
                    strcmp(c->state->secret, taken.credential_secret) != 0;
        failed |= replace(&c->state->device, taken.credential_device) | replace(&c->state->secret, taken.credential_secret);
        if (fresh && !failed) {
            lc_escrow escrow = escrow_of(c);
            lc_escrow_save(&escrow, c->state->device, c->state->secret);
        }
    }
    /* A null token means "suspected copy": keep the old one. */
    if (json_is_string(token) && json_string_length(token)) failed |= replace(&c->state->token, json_string_value(token));
    json_decref(c->state->signed_doc);
    c->state->signed_doc = json_incref(json_object_get(answer, "signed"));
    /* The answer is fresh (it carries this request's nonce): its time is the server's now. Offline,
     * trials and leases are judged on the local clock plus this offset, and rollback on local times
     * only, so a clock constantly hours or days off works offline too. */
    c->state->clock_offset = taken.offset_s;
    char iso[21];
    lc_format_iso(lc_seen(LC_NO_TIME, received, 1), iso); /* healed: see lc_seen */
    failed |= replace(&c->state->last_seen, iso);
    if (failed) {
        json_decref(taken.payload);
        return LICENTIA_E_NOMEM;
    }
    rc = lc_state_save(c->h->data_dir, c->state);
    /* Judged at the server's time: a wrong local clock does not change what the server said. */
    *out = lc_status_of(taken.payload, taken.issued_ms, 1);
    json_decref(taken.payload);
    if (!*out) return LICENTIA_E_NOMEM;
    if (rc != LICENTIA_OK) (*out)->unsaved = 1; /* used for this run; the next start goes online again */
    return rc;
}

licentia_error lc_device_call(call *c, const char *path, const char *key, licentia_status **out) {
    json_t *answer;
    lc_asked asked;
    licentia_status *ignored = NULL;
    licentia_error rc;
    *out = NULL;
    if (!c->state->device) resume(c);
    if (strcmp(path, "/v1/check") != 0 && !c->state->device) {
        rc = lc_device_call(c, "/v1/check", NULL, &ignored); /* first contact issues the credential */
        licentia_status_free(ignored);
        if (rc != LICENTIA_OK) return rc;
    }
    rc = lc_post(c, path, key, &asked, &answer);
    if (rc == LICENTIA_E_REFUSED && strcmp(c->h->refusal.code, LICENTIA_REFUSAL_INVALID_CREDENTIAL) == 0 && c->state->device) {
        /* The secret is void (re-identified elsewhere, or a restored old copy): drop it and re-identify. */
        replace(&c->state->device, NULL), replace(&c->state->secret, NULL);
        c->escrow_read = 1; /* a first contact now, whatever the escrow holds; its new credential replaces the entry */
        c->resumed = 0;
        if (strcmp(path, "/v1/check") != 0) {
            rc = lc_device_call(c, "/v1/check", NULL, &ignored);
            licentia_status_free(ignored);
            if (rc != LICENTIA_OK) return rc;
        }
        rc = lc_post(c, path, key, &asked, &answer);
    }
    if (rc != LICENTIA_OK) return rc;
    rc = lc_take_answer(c, &asked, answer, out);
    json_decref(answer);
    return rc;
}

/* -- offline ------------------------------------------------------------------------ */

static licentia_status *check_offline(call *c) {
    lc_state *s = c->state;
    if (!s->signed_doc) return lc_denied(s->corrupt ? "corrupt_state" : "no_document", NULL, 0);
    long long last_seen = LC_NO_TIME;
    if (s->last_seen && lc_parse_iso(s->last_seen, &last_seen) != 0) last_seen = LC_NO_TIME;
    licentia_status *st =
        lc_decide_offline(s->signed_doc, &c->h->keys, c->h->product, c->fp, c->now, last_seen, c->h->tolerance_ms,
                          s->clock_offset);
    if (st && st->reason && (!strcmp(st->reason, "clock_rollback") || !strcmp(st->reason, "invalid_document"))) return st;
    long long later = lc_seen(last_seen, c->now, 0);
    if (st && later != last_seen) {
        char iso[21];
        lc_format_iso(later, iso);
        /* A read-only data dir must not stop the application; rollback detection is weaker then. */
        if (replace(&s->last_seen, iso) == 0) lc_state_save(c->h->data_dir, s);
    }
    return st;
}

void lc_call_begin(licentia *h, call *c, lc_state *state, lc_fingerprint *fp) {
    lc_mutex_lock(&h->lock);
    lc_refusal_clear(&h->refusal);
    lc_state_load(h->data_dir, state);
    lc_read_fingerprint(h->product, h->root, h->data_dir, fp);
    c->h = h, c->state = state, c->fp = fp, c->escrow_read = 0, c->resumed = 0, c->device_code = NULL;
    c->now = now_ms(h);
    c->deadline = lc_monotonic_ms() + h->timeout_ms;
}

void lc_call_end(call *c) {
    lc_state_clear(c->state);
    lc_mutex_unlock(&c->h->lock);
}

static licentia_error run(licentia *h, const char *path, const char *key, int online, licentia_status **out) {
    if (!h || !out) return LICENTIA_E_ARGUMENT;
    *out = NULL;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    licentia_error rc = LICENTIA_E_OFFLINE;
    if (online) rc = lc_device_call(&c, path, key, out);
    if (rc == LICENTIA_OK && strcmp(path, "/v1/deactivate") != 0) lc_after_online(&c, strcmp(path, "/v1/check") == 0);
    if (!path || (strcmp(path, "/v1/check") == 0 &&
                  (rc == LICENTIA_E_OFFLINE || rc == LICENTIA_E_REFUSED || rc == LICENTIA_E_INVALID_DOCUMENT ||
                   rc == LICENTIA_E_IO))) {
        if (rc == LICENTIA_E_IO && *out) {
            rc = LICENTIA_OK; /* verified and answered; only the copy on disk failed */
        } else {
            licentia_status_free(*out);
            *out = check_offline(&c);
            rc = *out ? LICENTIA_OK : LICENTIA_E_NOMEM;
        }
    }
    lc_call_end(&c);
    return rc;
}

licentia_error licentia_check(licentia *h, int online, licentia_status **out) {
    return run(h, "/v1/check", NULL, online, out);
}

licentia_error licentia_activate(licentia *h, const char *key, licentia_status **out) {
    char normalized[30];
    if (!key || lc_normalize_key(key, normalized) != 0) {
        if (out) *out = NULL;
        return key ? LICENTIA_E_INVALID_KEY : LICENTIA_E_ARGUMENT;
    }
    return run(h, "/v1/activate", normalized, 1, out);
}

licentia_error licentia_deactivate(licentia *h, licentia_status **out) {
    return run(h, "/v1/deactivate", NULL, 1, out);
}

licentia_error licentia_forget_escrow(licentia *h) {
    if (!h) return LICENTIA_E_ARGUMENT;
    char data_path[LC_HASH_HEX];
    lc_mutex_lock(&h->lock);
    lc_component_hash(h->product, "data_path", h->data_dir, strlen(h->data_dir), data_path);
    lc_escrow escrow = {h->server_url, h->product, data_path};
    licentia_error rc = lc_escrow_forget(&escrow);
    lc_mutex_unlock(&h->lock);
    return rc;
}

/* -- stateless -------------------------------------------------------------------- */

licentia_error licentia_verify_document(const char *signed_json, size_t length, const char *public_keys,
                                        const char *product, long long at_unix_s, char **payload_out) {
    if (payload_out) *payload_out = NULL;
    if (!signed_json || !product) return LICENTIA_E_ARGUMENT;
    lc_once(init_dependencies);
    if (!dependencies_ready) return LICENTIA_E_NOMEM;
    lc_keyset keys;
    licentia_error rc = lc_keyset_parse(public_keys, &keys);
    if (rc != LICENTIA_OK) return rc;
    json_t *doc = lc_parse(signed_json, length), *payload = NULL;
    long long at_ms = at_unix_s == LICENTIA_NO_TIME ? LC_NO_TIME : at_unix_s * 1000;
    rc = doc ? lc_verify(doc, &keys, product, at_ms, &payload) : LICENTIA_E_INVALID_DOCUMENT;
    if (rc == LICENTIA_OK && payload_out) {
        lc_buf out = {0};
        if (lc_canonical(payload, &out) != 0 || !(*payload_out = lc_buf_take(&out))) rc = LICENTIA_E_NOMEM;
        lc_buf_free(&out);
    }
    json_decref(payload);
    json_decref(doc);
    lc_keyset_free(&keys);
    return rc;
}

licentia_error licentia_normalize_key(const char *key, char **normalized_out) {
    char normalized[30];
    if (normalized_out) *normalized_out = NULL;
    if (!key) return LICENTIA_E_ARGUMENT;
    if (lc_normalize_key(key, normalized) != 0) return LICENTIA_E_INVALID_KEY;
    if (normalized_out && !(*normalized_out = strdup(normalized))) return LICENTIA_E_NOMEM;
    return LICENTIA_OK;
}

const char *licentia_error_message(licentia_error error) {
    switch (error) {
    case LICENTIA_OK: return "ok";
    case LICENTIA_E_ARGUMENT: return "bad argument (public key, product slug, data directory or option)";
    case LICENTIA_E_NOMEM: return "out of memory";
    case LICENTIA_E_INVALID_KEY: return "the license key has a typo";
    case LICENTIA_E_INVALID_DOCUMENT: return "the signed document does not verify for this product";
    case LICENTIA_E_OFFLINE: return "the server could not be reached in time";
    case LICENTIA_E_REFUSED: return "the server refused the request";
    case LICENTIA_E_IO: return "the data directory cannot be written";
    case LICENTIA_E_QUOTA_EXCEEDED: return "the meter's limit is reached: nothing was counted";
    }
    return "unknown error";
}

void licentia_free(void *pointer) { free(pointer); }

const char *licentia_version(void) { return LICENTIA_VERSION; }
int licentia_protocol_version(void) { return LICENTIA_PROTOCOL_VERSION; }
int licentia_api_version(void) { return LICENTIA_API_VERSION; }
