/*
 * Air-gapped activation (offline_activation.py, core/airgap.py): a machine with no network writes an
 * activation request, the vendor turns it into a response, the machine installs it; to give the seat
 * back it writes a deactivation proof.
 *
 * The request carries two public keys of this installation: an X25519 one (the vendor seals the
 * installation's credential to it: X25519, HKDF-SHA256, ChaCha20-Poly1305, the request's nonce as
 * associated data) and an Ed25519 one (it signs the request now and the proof later). Their private
 * halves stay in <data_dir>/offline.json (0600), as state.json keeps the device secret. A response
 * is installed only when it answers a request this installation wrote, its status document verifies
 * with the pinned keys for this machine's hardware read now, and its credential opens with the kept
 * key: a response carried to another machine, edited or forged installs nothing.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"

#define OFFLINE_FILE "offline.json"
#define FORMAT 1
#define MAX_PENDING 8
#define MAX_FILE (64 * 1024)
#define LINE 64
static const char REQUEST[] = "ACTIVATION REQUEST", RESPONSE[] = "ACTIVATION RESPONSE", PROOF[] = "DEACTIVATION PROOF";
static const char SEAL_INFO[] = "licentia offline credential v1";

static char *b64e(const unsigned char *raw, size_t n) {
    size_t size = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(size);
    if (out) sodium_bin2base64(out, size, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Unpadded (or padded) base64url text into at most max bytes; -1 for anything else. */
static int b64d(const json_t *text, unsigned char *out, size_t max, size_t *n) {
    if (!json_is_string(text)) return -1;
    return sodium_base642bin(out, max, json_string_value(text), json_string_length(text), "=", n, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The file's text: body as canonical JSON, base64url, 64 characters a line, between BEGIN and END lines. */
static char *armor(const char *kind, const json_t *body) {
    lc_buf canonical = {0}, text = {0};
    if (lc_canonical(body, &canonical) != 0) {
        lc_buf_free(&canonical);
        return NULL;
    }
    char *encoded = b64e((const unsigned char *)canonical.data, canonical.len);
    lc_buf_free(&canonical);
    if (!encoded) return NULL;
    lc_buf_puts(&text, "-----BEGIN LICENTIA "), lc_buf_puts(&text, kind), lc_buf_puts(&text, "-----\n");
    for (size_t i = 0, n = strlen(encoded); i < n; i += LINE) {
        lc_buf_append(&text, encoded + i, n - i < LINE ? n - i : LINE);
        lc_buf_puts(&text, "\n");
    }
    lc_buf_puts(&text, "-----END LICENTIA "), lc_buf_puts(&text, kind), lc_buf_puts(&text, "-----\n");
    free(encoded);
    return lc_buf_take(&text);
}

/* The JSON object a file of `kind` carries (signatures not checked); NULL for anything else. */
static json_t *unarmor(const char *kind, const char *text, size_t length) {
    static const char begin[] = "-----BEGIN LICENTIA ", end[] = "-----END LICENTIA ";
    if (!text || length > MAX_FILE || memchr(text, '\0', length)) return NULL;
    char *copy = malloc(length + 1);
    if (!copy) return NULL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    json_t *body = NULL;
    char *start = strstr(copy, begin);
    size_t kind_len = strlen(kind);
    /* The first BEGIN line names the kind; a file of another kind is not this one. */
    if (start && !strncmp(start + sizeof begin - 1, kind, kind_len) && !strncmp(start + sizeof begin - 1 + kind_len, "-----", 5)) {
        char *inside = start + sizeof begin - 1 + kind_len + 5;
        char marker[64];
        snprintf(marker, sizeof marker, "%s%s-----", end, kind);
        char *stop = strstr(inside, marker);
        if (stop) {
            char *compact = malloc((size_t)(stop - inside) + 1);
            size_t n = 0;
            for (char *p = inside; compact && p < stop; p++)
                if (!isspace((unsigned char)*p)) compact[n++] = *p;
            unsigned char *raw = compact ? malloc(n + 1) : NULL;
            size_t raw_len;
            if (raw && sodium_base642bin(raw, n + 1, compact, n, "=", &raw_len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
                body = lc_parse((const char *)raw, raw_len);
            free(compact), free(raw);
        }
    }
    free(copy);
    if (!json_is_object(body)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* A request or proof: the claim and the machine key's signature over its canonical JSON. */
static char *signed_claim(const char *kind, json_t *claim, const unsigned char sk[crypto_sign_SECRETKEYBYTES]) {
    lc_buf canonical = {0};
    unsigned char sig[crypto_sign_BYTES];
    if (lc_canonical(claim, &canonical) != 0) {
        lc_buf_free(&canonical);
        return NULL;
    }
    crypto_sign_detached(sig, NULL, (const unsigned char *)canonical.data, canonical.len, sk);
    lc_buf_free(&canonical);
    char *sig_text = b64e(sig, sizeof sig);
    json_t *body = sig_text ? json_pack("{s:O, s:s}", "claim", claim, "sig", sig_text) : NULL;
    char *text = body ? armor(kind, body) : NULL;
    free(sig_text);
    json_decref(body);
    return text;
}

/* The offline keys file; damaged or missing, an empty one (it only ever restricts what installs). */
static json_t *load_keys(const char *data_dir) {
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s" LC_PATH_SEP OFFLINE_FILE, data_dir);
    char *raw = lc_read_small_file(path, MAX_FILE, &len);
    json_t *found = raw ? lc_parse(raw, len) : NULL;
    if (raw) sodium_memzero(raw, len), free(raw);
    const json_t *format = json_object_get(found, "format"), *pending = json_object_get(found, "pending");
    const json_t *activation = json_object_get(found, "activation"), *proof = json_object_get(found, "proof");
    json_t *keys = json_pack("{s:i, s:[], s:n, s:n}", "format", FORMAT, "pending", "activation", "proof");
    if (keys && json_is_integer(format) && json_integer_value(format) == FORMAT) {
        size_t i;
        json_t *p;
        json_array_foreach(pending, i, p) if (json_is_object(p)) json_array_append(json_object_get(keys, "pending"), p);
        if (json_is_object(activation)) json_object_set(keys, "activation", (json_t *)activation);
        if (json_is_string(proof)) json_object_set(keys, "proof", (json_t *)proof);
    }
    json_decref(found);
    return keys;
}

static licentia_error save_keys(const char *data_dir, const json_t *keys) {
    char *text = json_dumps(keys, JSON_COMPACT);
    if (!text) return LICENTIA_E_NOMEM;
    int rc = lc_write_file_atomic(data_dir, OFFLINE_FILE, text, strlen(text)); /* 0600, whole or not at all */
    sodium_memzero(text, strlen(text));
    free(text);
    return rc == 0 ? LICENTIA_OK : LICENTIA_E_IO;
}

static json_t *new_nonce_text(void) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char *text = b64e(raw, sizeof raw);
    json_t *nonce = text ? json_string(text) : NULL;
    free(text);
    return nonce;
}

char *lc_request_text(const char *product, const char *key, const json_t *fingerprint, const char *nonce,
                      const char *created_at, const unsigned char box_sk[32], const unsigned char seed[32],
                      const char *app_version, const char *os) {
    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES], sign_sk[crypto_sign_SECRETKEYBYTES], box_pk[crypto_scalarmult_BYTES];
    crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
    crypto_scalarmult_base(box_pk, box_sk);
    char *box_text = b64e(box_pk, sizeof box_pk), *proof_text = b64e(sign_pk, sizeof sign_pk);
    json_t *claim = box_text && proof_text
                        ? json_pack("{s:i, s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:s, s:s?, s:s}", "v", FORMAT, "kind",
                                    "activation_request", "product", product, "key", key, "fingerprint", fingerprint, "nonce",
                                    nonce, "created_at", created_at, "box_key", box_text, "proof_key", proof_text,
                                    "app_version", app_version, "os", os)
                        : NULL;
    char *text = claim ? signed_claim(REQUEST, claim, sign_sk) : NULL;
    free(box_text), free(proof_text);
    json_decref(claim);
    sodium_memzero(sign_sk, sizeof sign_sk);
    return text;
}

licentia_error licentia_activation_request(licentia *h, const char *key, char **request_out) {
    char normalized[30], os[200], created[21];
    if (request_out) *request_out = NULL;
    if (!h || !key || !request_out) return LICENTIA_E_ARGUMENT;
    if (lc_normalize_key(key, normalized) != 0) return LICENTIA_E_INVALID_KEY;
    unsigned char seed[32], box_sk[crypto_scalarmult_SCALARBYTES];
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(box_sk, sizeof box_sk);
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    lc_os_description(os, sizeof os);
    lc_format_iso(c.now, created);
    json_t *components = json_object();
    for (size_t i = 0; components && i < fp.count; i++) json_object_set_new(components, fp.items[i].name, json_string(fp.items[i].value));
    json_t *fingerprint = components ? json_pack("{s:O, s:s, s:b}", "components", components, "data_path", fp.data_path, "virtual", 0) : NULL;
    char *box_private = b64e(box_sk, sizeof box_sk), *proof_private = b64e(seed, sizeof seed);
    json_t *nonce = new_nonce_text();
    licentia_error rc = LICENTIA_E_NOMEM;
    char *text = fingerprint && nonce ? lc_request_text(h->product, normalized, fingerprint, json_string_value(nonce), created,
                                                        box_sk, seed, h->app_version, os)
                                      : NULL;
    json_t *keys = text && box_private && proof_private ? load_keys(h->data_dir) : NULL;
    json_t *entry = keys ? json_pack("{s:O, s:s, s:s, s:s}", "nonce", nonce, "box", box_private, "proof", proof_private,
                                     "created_at", created)
                         : NULL;
    if (entry) {
        json_t *pending = json_object_get(keys, "pending");
        json_array_append_new(pending, entry);
        while (json_array_size(pending) > MAX_PENDING) json_array_remove(pending, 0); /* the oldest is forgotten */
        rc = save_keys(h->data_dir, keys);
    }
    if (rc == LICENTIA_OK) *request_out = text, text = NULL;
    free(text);
    if (box_private) sodium_memzero(box_private, strlen(box_private)), free(box_private);
    if (proof_private) sodium_memzero(proof_private, strlen(proof_private)), free(proof_private);
    json_decref(components), json_decref(fingerprint), json_decref(nonce), json_decref(keys);
    sodium_memzero(seed, sizeof seed), sodium_memzero(box_sk, sizeof box_sk);
    lc_call_end(&c);
    return rc;
}

/* HKDF-SHA256 (RFC 5869) of one 32-byte block. */
static void hkdf32(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt, size_t salt_len, unsigned char out[32]) {
    unsigned char prk[32];
    const unsigned char one = 1;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, salt, salt_len);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)SEAL_INFO, sizeof SEAL_INFO - 1);
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(prk, sizeof prk);
}

/* Open the sealed credential for this machine's box key (airgap.unseal); the plaintext as JSON, or NULL. */
static json_t *unseal(const json_t *sealed, const json_t *box_private, const char *nonce) {
    unsigned char sk[32], pk[32], epk[32], shared[32], key[32], iv[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], salt[64];
    size_t n, ct_len;
    json_t *opened = NULL;
    const json_t *ct_text = json_object_get(sealed, "ct");
    unsigned char *ct = json_is_string(ct_text) ? malloc(json_string_length(ct_text) + 1) : NULL;
    if (!json_is_object(sealed) || !ct || b64d(box_private, sk, sizeof sk, &n) || n != 32 ||
        b64d(json_object_get(sealed, "epk"), epk, sizeof epk, &n) || n != 32 ||
        b64d(json_object_get(sealed, "nonce"), iv, sizeof iv, &n) || n != sizeof iv ||
        b64d(ct_text, ct, json_string_length(ct_text) + 1, &ct_len) || ct_len < crypto_aead_chacha20poly1305_IETF_ABYTES ||
        crypto_scalarmult(shared, sk, epk) != 0) {
        free(ct);
        sodium_memzero(sk, sizeof sk);
        return NULL;
    }
    crypto_scalarmult_base(pk, sk);
    memcpy(salt, epk, 32), memcpy(salt + 32, pk, 32);
    hkdf32(shared, sizeof shared, salt, sizeof salt, key);
    unsigned char *plain = malloc(ct_len);
    unsigned long long plain_len;
    if (plain && crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, ct, ct_len, (const unsigned char *)nonce,
                                                           strlen(nonce), iv, key) == 0) {
        opened = lc_parse((const char *)plain, (size_t)plain_len);
        sodium_memzero(plain, (size_t)plain_len);
    }
    free(plain), free(ct);
    sodium_memzero(sk, sizeof sk), sodium_memzero(shared, sizeof shared), sodium_memzero(key, sizeof key);
    return opened;
}

const char *lc_open_response(const char *text, size_t length, const char *product, const lc_keyset *keys,
                             const lc_fingerprint *fp, const json_t *pending, long long at_ms, lc_opened_response *out) {
    memset(out, 0, sizeof *out);
    json_t *body = unarmor(RESPONSE, text, length), *payload = NULL, *opened = NULL;
    const json_t *nonce = json_object_get(body, "request"), *v = json_object_get(body, "v"), *p, *entry = NULL;
    const char *why = NULL;
    size_t i;
    json_array_foreach(pending, i, p) if (!entry && json_is_string(nonce) && json_equal(json_object_get(p, "nonce"), (json_t *)nonce)) entry = p, out->index = i;
    const json_t *offline = NULL;
    if (!body) why = "not_a_response";
    else if (!json_is_integer(v) || json_integer_value(v) != FORMAT) why = "unknown_version";
    else if (!lc_same_text(json_object_get(body, "product"), product)) why = "other_product";
    else if (!entry) why = "unknown_request";
    else if (lc_verify_for_installation(json_object_get(body, "signed"), keys, product, fp, at_ms, &payload) != LICENTIA_OK) why = LICENTIA_ANSWER_INVALID_DOCUMENT;
    else if (!json_equal(json_object_get(offline = json_object_get(payload, "offline"), "request"), (json_t *)nonce) ||
             !lc_is_token(json_object_get(offline, "activation")))
        why = "other_request";
    else if (!(opened = unseal(json_object_get(body, "sealed"), json_object_get(entry, "box"), json_string_value(nonce))))
        why = "sealed_elsewhere";
    else if (!lc_is_token(json_object_get(opened, "device")) || !lc_is_token(json_object_get(opened, "secret")) ||
             !json_equal(json_object_get(opened, "device"), json_object_get(payload, "device")))
        why = LICENTIA_ANSWER_OTHER_INSTALLATION;
    if (!why) {
        out->payload = json_incref(payload);
        out->signed_doc = json_incref(json_object_get(body, "signed"));
        out->credential = json_incref(opened);
        out->activation = json_incref(json_object_get(offline, "activation"));
        out->entry = entry;
    }
    json_decref(body), json_decref(payload), json_decref(opened);
    return why;
}

void lc_opened_response_clear(lc_opened_response *r) {
    json_decref(r->payload), json_decref(r->signed_doc), json_decref(r->credential), json_decref(r->activation);
    memset(r, 0, sizeof *r);
}

licentia_error licentia_install_activation(licentia *h, const char *response, size_t length, licentia_status **out) {
    if (out) *out = NULL;
    if (!h || !response || !out) return LICENTIA_E_ARGUMENT;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    json_t *keys = load_keys(h->data_dir);
    long long at = lc_server_time(c.now, state.clock_offset);
    lc_opened_response r;
    /* It must answer a request this installation wrote, for this product, verify for this machine now,
     * name that request, and its credential must open with the key kept for it and name the document's device. */
    const char *why = keys ? lc_open_response(response, length, h->product, &h->keys, &fp, json_object_get(keys, "pending"), at, &r)
                           : "out of memory";
    licentia_error rc = !keys ? LICENTIA_E_NOMEM : why ? LICENTIA_E_INVALID_DOCUMENT : LICENTIA_OK;
    if (rc == LICENTIA_OK) {
        const json_t *token = json_object_get(r.payload, "token");
        char iso[21];
        lc_format_iso(c.now, iso);
        lc_state fresh;
        memset(&fresh, 0, sizeof fresh);
        fresh.signed_doc = json_incref(r.signed_doc);
        fresh.device = strdup(json_string_value(json_object_get(r.credential, "device")));
        fresh.secret = strdup(json_string_value(json_object_get(r.credential, "secret")));
        fresh.token = lc_is_token(token) ? strdup(json_string_value(token)) : NULL;
        fresh.last_seen = strdup(iso);
        fresh.facts_opt_out = state.facts_opt_out, fresh.clock_offset = state.clock_offset;
        json_t *activation = json_pack("{s:O, s:s?, s:O}", "id", r.activation, "device", fresh.device, "proof",
                                       json_object_get(r.entry, "proof"));
        rc = !fresh.device || !fresh.secret || !fresh.last_seen || !activation ? LICENTIA_E_NOMEM : LICENTIA_OK;
        if (rc == LICENTIA_OK) {
            json_array_remove(json_object_get(keys, "pending"), r.index);
            json_object_set_new(keys, "activation", activation), activation = NULL;
            json_object_set_new(keys, "proof", json_null());
            rc = save_keys(h->data_dir, keys);
        }
        if (rc == LICENTIA_OK) rc = lc_state_save(h->data_dir, &fresh);
        if (rc == LICENTIA_OK && !(*out = lc_status_of(r.payload, at, 0))) rc = LICENTIA_E_NOMEM;
        json_decref(activation);
        lc_state_clear(&fresh);
        lc_opened_response_clear(&r);
    } else if (rc == LICENTIA_E_INVALID_DOCUMENT) {
        lc_refusal_word(&h->refusal, why); /* not_a_response, unknown_request, sealed_elsewhere, ... */
    }
    json_decref(keys);
    lc_call_end(&c);
    return rc;
}

licentia_error licentia_deactivate_offline(licentia *h, char **proof_out) {
    if (proof_out) *proof_out = NULL;
    if (!h || !proof_out) return LICENTIA_E_ARGUMENT;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    json_t *keys = load_keys(h->data_dir);
    const json_t *activation = json_object_get(keys, "activation"), *kept = json_object_get(keys, "proof");
    licentia_error rc = keys ? LICENTIA_E_ARGUMENT : LICENTIA_E_NOMEM;
    unsigned char seed[32], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    size_t n;
    char created[21];
    if (!json_is_object(activation)) {
        /* Asked again (the first file was lost): the same proof, never a second activation's worth of use. */
        if (json_is_string(kept)) rc = (*proof_out = strdup(json_string_value(kept))) ? LICENTIA_OK : LICENTIA_E_NOMEM;
    } else if (b64d(json_object_get(activation, "proof"), seed, sizeof seed, &n) == 0 && n == 32) {
        crypto_sign_seed_keypair(pk, sk, seed);
        lc_format_iso(c.now, created);
        json_t *nonce = new_nonce_text();
        json_t *claim = nonce ? json_pack("{s:i, s:s, s:s, s:O, s:O, s:O, s:s}", "v", FORMAT, "kind", "deactivation_proof", "product",
                                          h->product, "activation", json_object_get(activation, "id"), "device",
                                          json_object_get(activation, "device"), "nonce", nonce, "created_at", created)
                              : NULL;
        char *proof = claim ? signed_claim(PROOF, claim, sk) : NULL;
        rc = proof ? LICENTIA_OK : LICENTIA_E_NOMEM;
        if (proof) {
            json_object_set_new(keys, "activation", json_null());
            json_object_set_new(keys, "proof", json_string(proof));
            rc = save_keys(h->data_dir, keys);
        }
        /* The license document goes: offline, this installation holds nothing now. */
        if (rc == LICENTIA_OK && state.signed_doc && state.device) {
            json_decref(state.signed_doc);
            state.signed_doc = NULL;
            rc = lc_state_save(h->data_dir, &state);
        }
        if (rc == LICENTIA_OK) *proof_out = proof;
        else free(proof);
        json_decref(nonce), json_decref(claim);
        sodium_memzero(seed, sizeof seed), sodium_memzero(sk, sizeof sk);
    } /* damaged keys: deactivate online instead (LICENTIA_E_ARGUMENT) */
    json_decref(keys);
    lc_call_end(&c);
    return rc;
}
