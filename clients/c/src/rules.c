/*
 * The rules shared with the Python core: component hashing and K-of-N
 * matching, license key check characters, the status rules, and the offline
 * decision. The conformance vectors hold this file to the core's answers.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DAY_MS 86400000LL
#define HARDWARE_COMPONENTS 3

void lc_component_hash(const char *product, const char *name, const char *raw, size_t raw_len, char out[LC_HASH_HEX]) {
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    size_t key_len = strlen("licentia:") + strlen(product);
    char *key = malloc(key_len + 1);
    if (!key) {
        out[0] = '\0';
        return;
    }
    strcpy(key, "licentia:");
    strcat(key, product);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)name, strlen(name));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)raw, raw_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, LC_HASH_HEX, mac, sizeof mac);
    free(key);
}

size_t lc_required_matches(const lc_fingerprint *presented, long long min_match) {
    long long tolerated = HARDWARE_COMPONENTS - min_match;
    if (tolerated < 0) tolerated = 0;
    long long need = (long long)presented->count - tolerated;
    return need < 1 ? 1 : (size_t)need;
}

int lc_matches(const json_t *stored, const lc_fingerprint *presented, long long min_match) {
    size_t equal = 0;
    int strong = 0;
    for (size_t i = 0; i < presented->count; i++) {
        const lc_component *c = &presented->items[i];
        const json_t *known = json_object_get(stored, c->name);
        size_t n = strlen(c->value);
        if (!n || !json_is_string(known) || json_string_length(known) != n) continue;
        if (sodium_memcmp(json_string_value(known), c->value, n) != 0) continue;
        equal++;
        /* The CPU identity is shared by every machine of a model: never identity alone. */
        if (strcmp(c->name, "cpu") != 0) strong = 1;
    }
    return strong && equal >= lc_required_matches(presented, min_match);
}

/* -- license keys ---------------------------------------------------------------- */

static const char ALPHABET[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

static char check_char(const char *body, size_t n) {
    int factor = 2, total = 0;
    for (size_t i = n; i-- > 0;) {
        int addend = factor * (int)(strchr(ALPHABET, body[i]) - ALPHABET);
        factor = factor == 2 ? 1 : 2;
        total += addend / 32 + addend % 32;
    }
    return ALPHABET[(32 - total % 32) % 32];
}

int lc_normalize_key(const char *text, char out[30]) {
    char compact[26];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == ' ' || *p == '-' || *p == '\t') continue;
        if (n == 25) return -1; /* too long */
        unsigned char c = (unsigned char)toupper(*p);
        if (c >= 0x80 || !strchr(ALPHABET, c) || c == '\0') return -1;
        compact[n++] = (char)c;
    }
    if (n != 25 || check_char(compact, 24) != compact[24]) return -1;
    for (size_t g = 0, o = 0; g < 5; g++) {
        memcpy(out + o, compact + g * 5, 5);
        o += 5;
        out[o++] = g < 4 ? '-' : '\0';
    }
    return 0;
}

/* -- status ---------------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static licentia_status *make_status(int allowed, const char *state, const char *reason, long days, int online) {
    licentia_status *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->allowed = allowed, st->online = online, st->days_left = days;
    st->customer_id = -1;
    st->state = strdup(state);
    st->reason = dup_or_null(reason);
    if (!st->state || (reason && !st->reason)) {
        licentia_status_free(st);
        return NULL;
    }
    return st;
}

licentia_status *lc_denied(const char *reason, const char *state, int online) {
    return make_status(0, state ? state : "unknown", reason, 0, online);
}

static long days_until(long long end, long long now) {
    if (end - now <= 0) return 0;
    return (long)((end - now + DAY_MS - 1) / DAY_MS);
}

static int truthy(const json_t *v) {
    if (!v || json_is_null(v) || json_is_false(v)) return 0;
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_array(v)) return json_array_size(v) > 0;
    if (json_is_object(v)) return json_object_size(v) > 0;
    return 1;
}

static int time_field(const json_t *v, long long *ms) {
    return json_is_string(v) && lc_parse_iso(json_string_value(v), ms) == 0 ? 0 : -1;
}

static int copy_features(licentia_status *st, const json_t *features) {
    size_t n = json_is_array(features) ? json_array_size(features) : 0;
    st->features = calloc(n ? n : 1, sizeof *st->features);
    if (!st->features) return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(features, i);
        if (!json_is_string(f)) continue;
        if (!(st->features[st->feature_count++] = strdup(json_string_value(f)))) return -1;
    }
    return 0;
}

/* judge(): a trial ends at trial_end, a license at its expiry; the document is
 * trusted until lease_until and then grace_days more. */
licentia_status *lc_status_of(const json_t *payload, long long now, int online) {
    const json_t *status_v = json_object_get(payload, "status");
    const char *status = json_is_string(status_v) ? json_string_value(status_v) : "None";
    const json_t *features = json_object_get(payload, "features");
    const json_t *reason_v = json_object_get(payload, "reason");
    const char *reason = truthy(reason_v) && json_is_string(reason_v) ? json_string_value(reason_v) : NULL;
    const json_t *device_v = json_object_get(payload, "device");
    const json_t *grace_v = json_object_get(payload, "grace_days");
    long long lease_until, grace_days = 0, end = 0;
    if (time_field(json_object_get(payload, "lease_until"), &lease_until) != 0) return lc_denied("invalid_document", NULL, online);
    if (truthy(grace_v)) {
        if (!json_is_integer(grace_v) || llabs(json_integer_value(grace_v)) > 1000000) return lc_denied("invalid_document", NULL, online);
        grace_days = json_integer_value(grace_v);
    }
    long days = -1;
    licentia_status *st;
    /* A trial ends at trial_end, a license at its expiry; both are optional. */
    const json_t *end_v;
    const char *ended_state, *ended_reason;
    if (strcmp(status, LICENTIA_STATUS_TRIAL) == 0) {
        end_v = json_object_get(payload, "trial_end");
        ended_state = LICENTIA_STATUS_TRIAL_EXPIRED, ended_reason = "trial_ended";
    } else if (strcmp(status, LICENTIA_STATUS_REGISTERED) == 0) {
        const json_t *lic = json_object_get(payload, "license");
        if (truthy(lic) && !json_is_object(lic)) return lc_denied("invalid_document", NULL, online);
        end_v = json_object_get(lic, "expires_at");
        ended_state = LICENTIA_LICENSE_EXPIRED, ended_reason = "license_expired";
    } else {
        st = make_status(0, status, reason ? reason : status, 0, online);
        goto device;
    }
    int has_end = truthy(end_v);
    if (has_end && time_field(end_v, &end) != 0) return lc_denied("invalid_document", NULL, online);
    if (has_end && now >= end) {
        st = make_status(0, ended_state, ended_reason, 0, online);
        goto device;
    }
    if (has_end) days = days_until(end, now);
    if (now <= lease_until) {
        st = make_status(1, status, reason, days, online);
    } else if (now <= lease_until + grace_days * DAY_MS) {
        st = make_status(1, "grace", "lease_expired", days_until(lease_until + grace_days * DAY_MS, now), online);
    } else {
        st = make_status(0, "lease_expired", "lease_expired", 0, online);
        goto device;
    }
    if (st && copy_features(st, features) != 0) {
        licentia_status_free(st);
        return NULL;
    }
device:
    if (st && ((json_is_string(device_v) && json_string_length(device_v) && !(st->device = strdup(json_string_value(device_v)))) ||
               lc_status_extras(st, payload, now) != 0)) {
        licentia_status_free(st);
        return NULL;
    }
    return st;
}

licentia_error lc_verify_for_installation(const json_t *signed_doc, const lc_keyset *pinned, const char *product,
                                          const lc_fingerprint *presented, long long at_ms, json_t **payload_out) {
    json_t *payload;
    licentia_error rc = lc_verify(signed_doc, pinned, product, at_ms, &payload);
    *payload_out = NULL;
    if (rc != LICENTIA_OK) return rc;
    /* A genuine document of another installation (copied in, or replayed) must not unlock this one. */
    const json_t *components = json_object_get(payload, "components");
    const json_t *data_path = json_object_get(payload, "data_path");
    const json_t *min_v = json_object_get(payload, "min_match");
    long long min_match = 2;
    if (json_is_integer(min_v) && json_integer_value(min_v)) min_match = json_integer_value(min_v);
    else if (truthy(min_v) && !json_is_integer(min_v)) rc = LICENTIA_E_INVALID_DOCUMENT;
    if (rc == LICENTIA_OK && (!json_is_object(components) || !json_is_string(data_path) ||
                              strcmp(json_string_value(data_path), presented->data_path) != 0 ||
                              json_string_length(data_path) != strlen(presented->data_path) ||
                              !lc_matches(components, presented, min_match)))
        rc = LICENTIA_E_INVALID_DOCUMENT;
    if (rc != LICENTIA_OK) {
        json_decref(payload);
        return rc;
    }
    *payload_out = payload;
    return LICENTIA_OK;
}

licentia_status *lc_decide_offline(const json_t *signed_doc, const lc_keyset *pinned, const char *product,
                                   const lc_fingerprint *presented, long long now, long long last_seen,
                                   long long tolerance_ms, long long offset_s) {
    if (!signed_doc) return lc_denied("no_document", NULL, 0);
    /* A clock wound back below the latest time seen: someone stretching a trial or a lease. Local
     * times only: a clock constantly hours or days off is no rollback. */
    if (lc_rolled_back(last_seen, now, tolerance_ms)) return lc_denied("clock_rollback", "clock_rollback", 0);
    /* The rest at the server's time: the local clock set right by the last bound answer's offset. */
    long long at = lc_server_time(now, offset_s);
    json_t *payload;
    licentia_error rc = lc_verify_for_installation(signed_doc, pinned, product, presented, at, &payload);
    if (rc == LICENTIA_E_NOMEM) return NULL;
    if (rc != LICENTIA_OK) return lc_denied("invalid_document", NULL, 0);
    licentia_status *st = lc_status_of(payload, at, 0);
    json_decref(payload);
    return st;
}

/* -- public accessors ------------------------------------------------------------- */

int licentia_status_allowed(const licentia_status *s) { return s ? s->allowed : 0; }
const char *licentia_status_state(const licentia_status *s) { return s ? s->state : "unknown"; }
const char *licentia_status_reason(const licentia_status *s) { return s ? s->reason : NULL; }
long licentia_status_days_left(const licentia_status *s) { return s ? s->days_left : 0; }
int licentia_status_online(const licentia_status *s) { return s ? s->online : 0; }
const char *licentia_status_device(const licentia_status *s) { return s ? s->device : NULL; }
size_t licentia_status_feature_count(const licentia_status *s) { return s ? s->feature_count : 0; }
const char *licentia_status_feature(const licentia_status *s, size_t i) {
    return s && i < s->feature_count ? s->features[i] : NULL;
}
int licentia_status_has_feature(const licentia_status *s, const char *name) {
    for (size_t i = 0; s && name && i < s->feature_count; i++)
        if (strcmp(s->features[i], name) == 0) return 1;
    return 0;
}

void licentia_status_free(licentia_status *s) {
    if (!s) return;
    for (size_t i = 0; i < s->feature_count; i++) free(s->features[i]);
    free(s->features);
    free(s->state);
    free(s->reason);
    free(s->device);
    json_decref(s->entitlements);
    free(s->customer_name), free(s->user), free(s->maintenance_until), free(s->maintenance_newer);
    free(s->release_version), free(s->release_channel), free(s->release_url);
    free(s);
}
