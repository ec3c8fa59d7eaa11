/*
 * Signed status documents: Ed25519 (libsodium) over canonical JSON, one key
 * pair per product, with endorsement chains after key rotation. Same rules as
 * licentia.core.signing: the key id is recomputed, never trusted; only pinned
 * keys and keys they endorsed for this product verify anything.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_ENDORSEMENTS 32
#define MAX_CLOCK_SKEW_MS (10LL * 60 * 1000)

static void key_id(const unsigned char raw[32], char kid[17]) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, raw, 32);
    sodium_bin2hex(kid, 17, digest, 8);
}

int lc_key_load(const char *text, size_t length, lc_key *out) {
    while (length && (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')) text++, length--;
    while (length && (text[length - 1] == ' ' || text[length - 1] == '\t' || text[length - 1] == '\r' ||
                      text[length - 1] == '\n'))
        length--;
    if (length < 9 || memcmp(text, "ed25519:", 8) != 0) return -1;
    const char *kid = text + 8;
    const char *colon = memchr(kid, ':', length - 8);
    if (!colon || colon - kid != 16) return -1;
    const char *b64 = colon + 1;
    size_t b64_len = length - (size_t)(b64 - text), raw_len = 0;
    const char *end = NULL;
    if (memchr(b64, ':', b64_len)) return -1;
    if (sodium_base642bin(out->key, sizeof out->key, b64, b64_len, NULL, &raw_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        raw_len != 32 || end != b64 + b64_len)
        return -1;
    key_id(out->key, out->kid);
    return memcmp(out->kid, kid, 16) == 0 ? 0 : -1;
}

int lc_keyset_add(lc_keyset *set, const lc_key *key) {
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->items[i].kid, key->kid) == 0) return 0;
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        lc_key *grown = realloc(set->items, cap * sizeof *grown);
        if (!grown) return -1;
        set->items = grown, set->cap = cap;
    }
    set->items[set->count++] = *key;
    return 0;
}

licentia_error lc_keyset_parse(const char *texts, lc_keyset *out) {
    memset(out, 0, sizeof *out);
    if (!texts) return LICENTIA_E_ARGUMENT;
    const char *p = texts;
    while (*p) {
        size_t n = strcspn(p, ",\n");
        size_t blank = 0;
        while (blank < n && (p[blank] == ' ' || p[blank] == '\t' || p[blank] == '\r')) blank++;
        if (blank < n) {
            lc_key key;
            if (lc_key_load(p, n, &key) != 0) {
                lc_keyset_free(out);
                return LICENTIA_E_ARGUMENT;
            }
            if (lc_keyset_add(out, &key) != 0) {
                lc_keyset_free(out);
                return LICENTIA_E_NOMEM;
            }
        }
        p += n;
        if (*p) p++;
    }
    if (out->count == 0) return LICENTIA_E_ARGUMENT;
    return LICENTIA_OK;
}

void lc_keyset_free(lc_keyset *set) {
    if (set->items) sodium_memzero(set->items, set->cap * sizeof *set->items);
    free(set->items);
    memset(set, 0, sizeof *set);
}

static const lc_key *find_key(const lc_keyset *set, const char *kid, size_t kid_len) {
    if (kid_len != 16) return NULL;
    for (size_t i = 0; i < set->count; i++)
        if (memcmp(set->items[i].kid, kid, 16) == 0) return &set->items[i];
    return NULL;
}

static int decode_sig(const json_t *text, unsigned char sig[64]) {
    size_t len = 0;
    const char *end = NULL;
    if (!json_is_string(text)) return -1;
    const char *s = json_string_value(text);
    size_t n = json_string_length(text);
    if (sodium_base642bin(sig, 64, s, n, NULL, &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != 64 || end != s + n)
        return -1;
    return 0;
}

/* Verify `sig` over the canonical JSON of `value` with `key`. */
static int verifies(const lc_key *key, const unsigned char sig[64], const json_t *value) {
    lc_buf body = {0};
    int ok = lc_canonical(value, &body) == 0 &&
             crypto_sign_verify_detached(sig, (const unsigned char *)(body.data ? body.data : ""), body.len,
                                         key->key) == 0;
    lc_buf_free(&body);
    return ok;
}

static int is_falsy(const json_t *v) {
    if (!v || json_is_null(v) || json_is_false(v)) return 1;
    if (json_is_integer(v)) return json_integer_value(v) == 0;
    if (json_is_string(v)) return json_string_length(v) == 0;
    if (json_is_object(v)) return json_object_size(v) == 0;
    if (json_is_array(v)) return json_array_size(v) == 0;
    return 0;
}

/* Learn the keys endorsed (in a chain from a pinned key) for this product. */
static licentia_error trusted_keys(const lc_keyset *pinned, const json_t *endorsements, const char *product,
                                   lc_keyset *keys) {
    memset(keys, 0, sizeof *keys);
    for (size_t i = 0; i < pinned->count; i++)
        if (lc_keyset_add(keys, &pinned->items[i]) != 0) return LICENTIA_E_NOMEM;
    if (is_falsy(endorsements)) return LICENTIA_OK;
    if (!json_is_array(endorsements) || json_array_size(endorsements) > MAX_ENDORSEMENTS)
        return LICENTIA_E_INVALID_DOCUMENT;
    size_t n = json_array_size(endorsements);
    char used[MAX_ENDORSEMENTS] = {0};
    int progress = 1;
    /* Endorsements may arrive in any order; keep passing until no new key is learnt. */
    while (progress) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *item = json_array_get(endorsements, i);
            const json_t *by = json_object_get(item, "by");
            if (used[i] || !json_is_object(item) || !json_is_string(by)) continue;
            const lc_key *signer = find_key(keys, json_string_value(by), json_string_length(by));
            if (!signer) continue;
            used[i] = 1;
            const json_t *public_key = json_object_get(item, "public_key");
            const json_t *kid = json_object_get(item, "kid");
            unsigned char sig[64];
            lc_key learnt;
            if (!json_is_string(public_key) ||
                lc_key_load(json_string_value(public_key), json_string_length(public_key), &learnt) != 0 ||
                decode_sig(json_object_get(item, "sig"), sig) != 0)
                continue;
            json_t *claim = json_pack("{s:s, s:O, s:s}", "kid", learnt.kid, "public_key", public_key, "product", product);
            if (!claim) return LICENTIA_E_NOMEM;
            int ok = verifies(signer, sig, claim);
            json_decref(claim);
            if (!ok) continue;
            if (json_is_string(kid) && json_string_length(kid) == 16 && memcmp(json_string_value(kid), learnt.kid, 16) == 0) {
                if (lc_keyset_add(keys, &learnt) != 0) return LICENTIA_E_NOMEM;
                progress = 1;
            }
        }
    }
    return LICENTIA_OK;
}

licentia_error lc_verify(const json_t *signed_doc, const lc_keyset *pinned, const char *product, long long at_ms,
                         json_t **payload_out) {
    *payload_out = NULL;
    if (!json_is_object(signed_doc)) return LICENTIA_E_INVALID_DOCUMENT;
    json_t *payload = json_object_get(signed_doc, "document");
    const json_t *kid = json_object_get(signed_doc, "kid");
    unsigned char sig[64];
    if (!json_is_object(payload) || !json_is_string(kid) || decode_sig(json_object_get(signed_doc, "sig"), sig) != 0)
        return LICENTIA_E_INVALID_DOCUMENT;
    lc_keyset keys;
    licentia_error rc = trusted_keys(pinned, json_object_get(signed_doc, "endorsements"), product, &keys);
    if (rc == LICENTIA_OK) {
        const lc_key *key = find_key(&keys, json_string_value(kid), json_string_length(kid));
        if (!key || !verifies(key, sig, payload)) rc = LICENTIA_E_INVALID_DOCUMENT;
    }
    lc_keyset_free(&keys);
    if (rc != LICENTIA_OK) return rc;
    const json_t *named = json_object_get(payload, "product");
    if (!json_is_string(named) || json_string_length(named) != strlen(product) || strcmp(json_string_value(named), product) != 0)
        return LICENTIA_E_INVALID_DOCUMENT;
    if (at_ms != LC_NO_TIME) {
        long long issued;
        const json_t *at = json_object_get(payload, "issued_at");
        if (!json_is_string(at) || lc_parse_iso(json_string_value(at), &issued) != 0) return LICENTIA_E_INVALID_DOCUMENT;
        if (issued - at_ms > MAX_CLOCK_SKEW_MS) return LICENTIA_E_INVALID_DOCUMENT;
    }
    *payload_out = json_incref(payload);
    return LICENTIA_OK;
}
