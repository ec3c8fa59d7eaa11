/*
 * Online answers a client can trust (the rules of licentia.core.answers): every online call that
 * answers a signed document sends a fresh nonce, and the answer is taken only when its verified
 * document carries that nonce and names the installation (and machine) that asked. A fake server
 * replaying a genuine document it saved (issued years ago, or days ahead, or for another
 * installation) is refused before anything of it is stored. A bound answer's issued_at is the
 * server's time now: its distance to the local clock is kept as the offset offline checks add.
 */
#include <sodium.h>
#include <string.h>

#include "internal.h"

/* Offsets beyond a century are nonsense (a document's time is years 1-9999): treated as none. */
#define MAX_OFFSET_S (100LL * 366 * 86400)
/* The calendar the core's times live in: 0001-01-01T00:00:00Z up to (not including) year 10000. */
#define FIRST_MS (-62135596800000LL)
#define END_MS (253402300800000LL)

typedef char nonce_size_is_right[LC_NONCE_SIZE == sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ? 1 : -1];

void lc_new_nonce(char out[LC_NONCE_SIZE]) {
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, LC_NONCE_SIZE, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

long long lc_clock_offset(long long issued_ms, long long local_ms) {
    long long diff = issued_ms - local_ms;
    long long q = diff / 1000, r = diff % 1000;
    if (r < 0) q--, r += 1000; /* floor */
    if (r > 0) q++; /* rounded up, as the core does: issued_at is the server's time cut to the second */
    return q >= -MAX_OFFSET_S && q <= MAX_OFFSET_S ? q : 0;
}

long long lc_server_time(long long local_ms, long long offset_s) {
    if (offset_s < -MAX_OFFSET_S || offset_s > MAX_OFFSET_S) return local_ms;
    long long at = local_ms + offset_s * 1000;
    return at >= FIRST_MS && at < END_MS ? at : local_ms; /* a local clock at the ends of the calendar */
}

/* The JSON string `value` is exactly `text` (NUL characters included in the comparison). */
int lc_same_text(const json_t *value, const char *text) {
    return json_is_string(value) && text && json_string_length(value) == strlen(text) &&
           memcmp(json_string_value(value), text, json_string_length(value)) == 0;
}

/* A credential part or token as the server makes them: short printable ASCII. */
int lc_is_token(const json_t *value) {
    if (!json_is_string(value)) return 0;
    size_t n = json_string_length(value);
    const unsigned char *s = (const unsigned char *)json_string_value(value);
    if (n == 0 || n > 200) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e) return 0;
    return 1;
}

int lc_credential_of(const json_t *answer, const json_t *payload, const char **device, const char **secret) {
    const json_t *credential = json_object_get(answer, "credential");
    const json_t *d = json_object_get(credential, "device"), *s = json_object_get(credential, "secret");
    *device = *secret = NULL;
    if (!json_is_object(credential) || !lc_is_token(d) || !lc_is_token(s) || !json_equal((json_t *)d, json_object_get(payload, "device")))
        return 0;
    *device = json_string_value(d), *secret = json_string_value(s);
    return 1;
}

/*
 * The machine of the installation's last verified document, borrowed from asked->known (an
 * installation never changes machine); NULL when there is none, it does not verify or it names
 * another device.
 */
static licentia_error known_machine(const lc_asked *asked, const lc_keyset *pinned, const char *product,
                                    const json_t **machine) {
    json_t *known;
    *machine = NULL;
    if (!asked->device || !asked->known) return LICENTIA_OK;
    licentia_error rc = lc_verify(asked->known, pinned, product, LC_NO_TIME, &known);
    if (rc == LICENTIA_E_NOMEM) return rc;
    if (rc != LICENTIA_OK) return LICENTIA_OK;
    const json_t *m = json_object_get(known, "machine");
    if (lc_same_text(json_object_get(known, "device"), asked->device) && json_is_string(m)) *machine = m;
    json_decref(known); /* the payload lives inside asked->known, and so does the machine */
    return LICENTIA_OK;
}

/* Why a verified answer is not the answer to this request (NULL: it is); refusal() in the core. */
static const char *refusal(const json_t *payload, const char *nonce, const char *device, const json_t *machine,
                           const json_t *credential_device) {
    if (!lc_same_text(json_object_get(payload, "nonce"), nonce)) return LICENTIA_ANSWER_NONCE_MISMATCH;
    json_t *named = json_object_get(payload, "device");
    if (!json_is_string(named) || (credential_device ? !json_equal(named, (json_t *)credential_device)
                                                     : !lc_same_text(named, device)))
        return LICENTIA_ANSWER_OTHER_INSTALLATION;
    if (machine && lc_same_text(named, device) && !json_equal(json_object_get(payload, "machine"), (json_t *)machine))
        return LICENTIA_ANSWER_OTHER_MACHINE;
    return NULL;
}

licentia_error lc_bound(const json_t *payload, const lc_asked *asked, const lc_keyset *pinned, const char *product,
                        const char **why) {
    const json_t *machine;
    licentia_error rc = known_machine(asked, pinned, product, &machine);
    *why = rc == LICENTIA_OK ? refusal(payload, asked->nonce, asked->device, machine, NULL) : NULL;
    return rc != LICENTIA_OK ? rc : *why ? LICENTIA_E_INVALID_DOCUMENT : LICENTIA_OK;
}

licentia_error lc_accept_answer(const json_t *answer, const lc_asked *asked, const lc_keyset *pinned,
                                const char *product, const lc_fingerprint *presented, long long received_ms,
                                lc_answer *out) {
    json_t *payload;
    memset(out, 0, sizeof *out);
    out->refusal = LICENTIA_ANSWER_INVALID_DOCUMENT;
    /* a) signature, product, this installation's hardware and data path (issued in the future or not:
     *    that is the nonce's to tell, since the answer's time is the server's) */
    licentia_error rc = lc_verify_for_installation(json_object_get(answer, "signed"), pinned, product, presented,
                                                   LC_NO_TIME, &payload);
    if (rc != LICENTIA_OK) return rc;
    long long issued;
    const json_t *issued_at = json_object_get(payload, "issued_at");
    if (!json_is_string(issued_at) || lc_parse_iso(json_string_value(issued_at), &issued) != 0) {
        json_decref(payload);
        return LICENTIA_E_INVALID_DOCUMENT;
    }
    /* The credential is outside the signature: kept only when it names the document's device. */
    const char *credential_device = NULL, *credential_secret = NULL;
    int has_credential = lc_credential_of(answer, payload, &credential_device, &credential_secret);
    const json_t *cred_device = json_object_get(json_object_get(answer, "credential"), "device");
    /* b) the nonce, c) the device that asked, d) its machine */
    const json_t *machine;
    if ((rc = known_machine(asked, pinned, product, &machine)) != LICENTIA_OK) {
        json_decref(payload);
        return rc;
    }
    out->refusal = refusal(payload, asked->nonce, asked->device, machine,
                           has_credential ? cred_device : NULL);
    if (out->refusal) {
        json_decref(payload);
        return LICENTIA_E_INVALID_DOCUMENT;
    }
    out->payload = payload;
    out->issued_ms = issued;
    out->offset_s = lc_clock_offset(issued, received_ms);
    if (has_credential) {
        out->credential_device = credential_device;
        out->credential_secret = credential_secret;
    }
    return LICENTIA_OK;
}
