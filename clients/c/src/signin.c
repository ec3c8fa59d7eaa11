/*
 * Signing the application's user in (signin.py): the OAuth 2.0 device authorization grant (RFC 8628).
 *
 * For a license whose seats are named users. licentia_sign_in_begin asks the server for a code to
 * show; the application then calls licentia_sign_in_poll every licentia_sign_in_interval seconds
 * (the library starts no thread) until the person confirmed it in the portal: that answer is the
 * signed status document, now naming the user, verified, bound to the poll's nonce and stored as
 * every check's answer is. The device code is this installation's alone (the server checks its
 * credential at each poll): it is never written to disk nor handed out, and wiped when freed.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"

#define SLOW_DOWN_STEP_S 5 /* RFC 8628 section 3.5 */

struct licentia_sign_in {
    char *device_code, *user_code, *verification_uri, *verification_uri_complete;
    long expires_in, interval;
};

void licentia_sign_in_free(licentia_sign_in *s) {
    if (!s) return;
    if (s->device_code) sodium_memzero(s->device_code, strlen(s->device_code)); /* a secret: not left in freed memory */
    free(s->device_code), free(s->user_code), free(s->verification_uri), free(s->verification_uri_complete);
    free(s);
}

/* Printable ASCII of 1..max characters (an https:// or http:// page when `page`). */
static int plain_text(const json_t *v, size_t max, int page) {
    if (!json_is_string(v)) return 0;
    const char *t = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 1 || n > max || strlen(t) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < (page ? 0x21 : 0x20) || (unsigned char)t[i] > 0x7e) return 0;
    return !page || !strncmp(t, "https://", 8) || !strncmp(t, "http://", 7);
}

static int lifetime(const json_t *v) {
    return json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 86400;
}

/* The server's answer to POST /v1/device/authorize, checked field by field; NULL (and *rc) when not usable. */
static licentia_sign_in *code_of(const json_t *unverified, licentia_error *rc) {
    const json_t *uri = json_object_get(unverified, "verification_uri");
    const json_t *complete = json_object_get(unverified, "verification_uri_complete");
    const json_t *device_code = json_object_get(unverified, "device_code");
    *rc = LICENTIA_E_INVALID_DOCUMENT;
    if (!complete) complete = uri;
    if (!json_is_object(unverified) || !plain_text(json_object_get(unverified, "user_code"), 20, 0) ||
        !json_is_string(device_code) || json_string_length(device_code) < 1 || json_string_length(device_code) > 100 ||
        strlen(json_string_value(device_code)) != json_string_length(device_code) ||
        !lifetime(json_object_get(unverified, "expires_in")) || !lifetime(json_object_get(unverified, "interval")) ||
        !plain_text(uri, 2000, 1) || !plain_text(complete, 2000, 1))
        return NULL;
    *rc = LICENTIA_E_NOMEM;
    licentia_sign_in *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->device_code = strdup(json_string_value(device_code));
    s->user_code = strdup(json_string_value(json_object_get(unverified, "user_code")));
    s->verification_uri = strdup(json_string_value(uri));
    s->verification_uri_complete = strdup(json_string_value(complete));
    s->expires_in = (long)json_integer_value(json_object_get(unverified, "expires_in"));
    s->interval = (long)json_integer_value(json_object_get(unverified, "interval"));
    if (!s->device_code || !s->user_code || !s->verification_uri || !s->verification_uri_complete) {
        licentia_sign_in_free(s);
        return NULL;
    }
    *rc = LICENTIA_OK;
    return s;
}

licentia_error licentia_sign_in_begin(licentia *h, licentia_sign_in **out) {
    if (!h || !out) return LICENTIA_E_ARGUMENT;
    *out = NULL;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    licentia_error rc = LICENTIA_OK;
    if (!state.device) { /* the grant is this installation's: its credential first (a first contact, or the escrow's) */
        licentia_status *ignored = NULL;
        rc = lc_device_call(&c, "/v1/check", NULL, &ignored);
        licentia_status_free(ignored);
        if (rc == LICENTIA_E_IO) rc = LICENTIA_OK; /* the credential is in memory for this call */
    }
    if (rc == LICENTIA_OK && !state.device) rc = LICENTIA_E_OFFLINE;
    json_t *answer = NULL;
    if (rc == LICENTIA_OK) {
        json_t *body = json_pack("{s:s}", "product", h->product);
        rc = body ? lc_exchange(h->server_url, "POST", "/v1/device/authorize", body, state.device, state.secret,
                                (long)(c.deadline - lc_monotonic_ms()), &answer, &h->refusal)
                  : LICENTIA_E_NOMEM;
        json_decref(body);
    }
    if (rc == LICENTIA_OK) {
        *out = code_of(answer, &rc);
        if (rc == LICENTIA_E_INVALID_DOCUMENT) lc_refusal_word(&h->refusal, LICENTIA_ANSWER_INVALID_DOCUMENT);
    }
    json_decref(answer);
    lc_call_end(&c);
    return rc;
}

const char *licentia_sign_in_user_code(const licentia_sign_in *s) { return s ? s->user_code : NULL; }
const char *licentia_sign_in_verification_uri(const licentia_sign_in *s) { return s ? s->verification_uri : NULL; }
const char *licentia_sign_in_verification_uri_complete(const licentia_sign_in *s) {
    return s ? s->verification_uri_complete : NULL;
}
long licentia_sign_in_expires_in(const licentia_sign_in *s) { return s ? s->expires_in : 0; }
long licentia_sign_in_interval(const licentia_sign_in *s) { return s ? s->interval : 0; }

licentia_error licentia_sign_in_poll(licentia *h, licentia_sign_in *s, licentia_sign_in_result *result,
                                     licentia_status **out) {
    if (!h || !s || !result || !out) return LICENTIA_E_ARGUMENT;
    *out = NULL;
    *result = LICENTIA_SIGN_IN_PENDING;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    c.device_code = s->device_code;
    licentia_error rc = lc_device_call(&c, "/v1/device/token", NULL, out);
    if (rc == LICENTIA_OK || (rc == LICENTIA_E_IO && *out)) {
        *result = LICENTIA_SIGN_IN_DONE; /* LICENTIA_E_IO: signed in, but the data directory could not keep it */
    } else if (rc == LICENTIA_E_REFUSED && !strcmp(h->refusal.code, LICENTIA_REFUSAL_SLOW_DOWN)) {
        s->interval += SLOW_DOWN_STEP_S;
        *result = LICENTIA_SIGN_IN_SLOW_DOWN;
        rc = LICENTIA_OK;
    } else if (rc == LICENTIA_E_REFUSED && !strcmp(h->refusal.code, LICENTIA_REFUSAL_AUTHORIZATION_PENDING)) {
        rc = LICENTIA_OK;
    } else if (rc == LICENTIA_E_REFUSED) {
        *result = LICENTIA_SIGN_IN_REFUSED; /* access_denied, expired_token, invalid_grant, ...: stop */
    } /* else offline, or an answer not taken (nothing of it stored): pending, poll again */
    lc_call_end(&c);
    return rc;
}
