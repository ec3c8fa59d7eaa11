/*
 * Floating seats (leases.py, lease_documents.py): check out a seat, keep it with heartbeats the
 * application sends (licentia_lease_heartbeat, every licentia_lease_heartbeat_seconds; the library
 * starts no thread), return it. Every lease document is verified before it is trusted: the pinned
 * keys, this product, type floating_lease, this machine's hardware read afresh, and (online) this
 * request's nonce, device and machine, so a document edited, replayed or copied to another computer
 * grants nothing. The last one is kept in <data_dir>/lease.json: a borrowed lease works offline from
 * it until its end, judged on the local clock set right by the kept offset, while no rollback shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"

#define LEASE_FILE "lease.json"
#define MAX_LEASE_BYTES (1 << 16)
#define MIN_HEARTBEAT_S 1

enum { ACTIVE, BORROWED, LOST, RELEASED };
static const char *const NAMES[] = {LICENTIA_LEASE_ACTIVE, LICENTIA_LEASE_BORROWED, LICENTIA_LEASE_LOST, LICENTIA_LEASE_RELEASED};

struct licentia_lease {
    lc_mutex lock; /* the application reads valid/state on one thread while another sends heartbeats */
    char *id, *key, *expires_at;
    int state;         /* ACTIVE, ... (NAMES: its LICENTIA_LEASE_* word) */
    char error[101];   /* the refusal that lost it */
    int borrowed, online;
    double heartbeat_seconds;
    long long deadline; /* lc_monotonic_ms() when it ends */
    json_t *entitlements, *features;
};

static licentia_lease *new_lease(void) {
    licentia_lease *l = calloc(1, sizeof *l);
    if (l && lc_mutex_init(&l->lock) != 0) {
        free(l);
        return NULL;
    }
    return l;
}

/* The lock of a lease the caller may hold as const (reading it takes the lock too). */
static lc_mutex *lock_of(const licentia_lease *l) { return (lc_mutex *)&l->lock; }

json_t *lc_verify_lease(const json_t *signed_doc, const lc_keyset *keys, const char *product, const lc_fingerprint *fp,
                        long long at_ms, long long *issued, long long *expires) {
    json_t *payload = NULL;
    if (!json_is_object(signed_doc) || lc_verify(signed_doc, keys, product, at_ms, &payload) != LICENTIA_OK) return NULL;
    const json_t *type = json_object_get(payload, "type"), *min_v = json_object_get(payload, "min_match");
    const json_t *e = json_object_get(payload, "expires_at"), *i = json_object_get(payload, "issued_at");
    long long min_match = json_is_integer(min_v) && json_integer_value(min_v) ? json_integer_value(min_v) : 2;
    /* Its data path is not compared: a lease is the machine's seat. */
    if (!lc_same_text(type, "floating_lease") || !json_is_string(json_object_get(payload, "lease")) ||
        (min_v && !json_is_null(min_v) && !json_is_integer(min_v)) || !json_is_string(e) || !json_is_string(i) ||
        lc_parse_iso(json_string_value(e), expires) != 0 || lc_parse_iso(json_string_value(i), issued) != 0 ||
        !json_is_object(json_object_get(payload, "components")) ||
        !lc_matches(json_object_get(payload, "components"), fp, min_match)) {
        json_decref(payload);
        return NULL;
    }
    return payload;
}

licentia_error lc_accept_lease(const json_t *answer, const lc_asked *asked, const lc_keyset *keys, const char *product,
                               const lc_fingerprint *fp, json_t **payload_out, long long *issued, long long *expires,
                               const char **why) {
    *payload_out = NULL;
    *why = LICENTIA_ANSWER_INVALID_DOCUMENT;
    json_t *payload = lc_verify_lease(json_object_get(answer, "signed"), keys, product, fp, LC_NO_TIME, issued, expires);
    if (!payload) return LICENTIA_E_INVALID_DOCUMENT;
    licentia_error rc = LICENTIA_E_INVALID_DOCUMENT;
    if (!json_equal(json_object_get(payload, "lease"), json_object_get(answer, "lease"))) *why = LICENTIA_ANSWER_OTHER_LEASE;
    else rc = lc_bound(payload, asked, keys, product, why);
    if (rc == LICENTIA_OK) *payload_out = payload, *why = NULL;
    else json_decref(payload);
    return rc;
}

const char *lc_stored_lease(const json_t *signed_doc, const lc_keyset *keys, const char *product, const lc_fingerprint *fp,
                            long long at_ms, json_t **payload_out, long long *issued, long long *expires) {
    json_t *payload = lc_verify_lease(signed_doc, keys, product, fp, at_ms, issued, expires);
    *payload_out = NULL;
    if (!payload) return LICENTIA_ANSWER_INVALID_DOCUMENT;
    const char *why = !json_is_true(json_object_get(payload, "borrowed")) ? "not_borrowed" : *expires <= at_ms ? "ended" : NULL;
    if (why) json_decref(payload);
    else *payload_out = payload;
    return why;
}

double lc_heartbeat_seconds(const json_t *payload) {
    const json_t *every = json_object_get(payload, "heartbeat_seconds"), *seconds = json_object_get(payload, "lease_seconds");
    double limit = json_is_integer(seconds) && json_integer_value(seconds) > 0 ? (double)json_integer_value(seconds) / 2 : 60.0;
    return json_is_integer(every) && json_integer_value(every) > 0 && json_integer_value(every) <= limit
               ? (double)json_integer_value(every) : limit / 2;
}

/* Take a verified document into the lease; `now` is the server's time (issued online, the set-right clock offline). */
static licentia_error take_lease(licentia_lease *l, const call *c, const json_t *signed_doc, const json_t *payload, long long now,
                             long long expires) {
    char *id = strdup(json_string_value(json_object_get(payload, "lease")));
    char iso[21];
    lc_format_iso(expires, iso);
    char *until = strdup(iso);
    json_t *ent = lc_entitlements_in_force(json_object_get(payload, "entitlements"), now), *features = json_array();
    const json_t *f = json_object_get(payload, "features");
    size_t k;
    json_t *v;
    json_array_foreach(f, k, v) if (json_is_string(v) && features) json_array_append(features, v);
    if (!id || !until || !ent || !features) {
        free(id), free(until), json_decref(ent), json_decref(features);
        return LICENTIA_E_NOMEM;
    }
    lc_mutex_lock(&l->lock);
    free(l->id), free(l->expires_at), json_decref(l->entitlements), json_decref(l->features);
    l->id = id, l->expires_at = until, l->entitlements = ent, l->features = features;
    l->deadline = lc_monotonic_ms() + (expires > now ? expires - now : 0);
    l->borrowed = json_is_true(json_object_get(payload, "borrowed"));
    l->state = l->borrowed ? BORROWED : ACTIVE;
    l->error[0] = '\0';
    /* The signed interval, bounded: a server's bug must not make the application flood it. */
    l->heartbeat_seconds = lc_heartbeat_seconds(payload);
    if (l->heartbeat_seconds < MIN_HEARTBEAT_S) l->heartbeat_seconds = MIN_HEARTBEAT_S;
    lc_mutex_unlock(&l->lock);
    char *text = json_dumps(signed_doc, JSON_COMPACT);
    /* A failure to keep it only costs offline use of a borrowed lease. */
    if (text) lc_write_file_atomic(c->h->data_dir, LEASE_FILE, text, strlen(text));
    free(text);
    return LICENTIA_OK;
}

/*
 * POST a lease call with this installation's credential (a first contact first when it has none) and
 * a fresh nonce; a credential the server no longer knows is replaced once, as a check does. Then
 * verify the answer's document for this machine and this request.
 */
static licentia_error lease_call(call *c, const char *path, const char *key, int borrow_days, json_t **signed_out,
                                 json_t **payload_out, long long *issued, long long *expires) {
    licentia_status *ignored = NULL;
    licentia_error rc = LICENTIA_OK;
    json_t *answer = NULL;
    lc_asked asked;
    *signed_out = *payload_out = NULL;
    for (int attempt = 1; attempt <= 2; attempt++) {
        if (!c->state->device) {
            rc = lc_device_call(c, "/v1/check", NULL, &ignored);
            licentia_status_free(ignored), ignored = NULL;
            if (rc != LICENTIA_OK && rc != LICENTIA_E_IO) return rc;
        }
        lc_new_nonce(asked.nonce);
        asked.device = c->state->device, asked.known = c->state->signed_doc;
        json_t *body = json_pack("{s:s}", "nonce", asked.nonce);
        if (body && key) json_object_set_new(body, "product", json_string(c->h->product)), json_object_set_new(body, "key", json_string(key));
        if (body && key && borrow_days > 0) json_object_set_new(body, "borrow_days", json_integer(borrow_days));
        if (!body) return LICENTIA_E_NOMEM;
        rc = lc_exchange(c->h->server_url, "POST", path, body, c->state->device, c->state->secret,
                         (long)(c->deadline - lc_monotonic_ms()), &answer, &c->h->refusal);
        json_decref(body);
        if (rc == LICENTIA_E_REFUSED && attempt == 1 && !strcmp(c->h->refusal.code, LICENTIA_REFUSAL_INVALID_CREDENTIAL)) {
            free(c->state->device), free(c->state->secret);
            c->state->device = c->state->secret = NULL;
            c->escrow_read = 1;
            continue;
        }
        break;
    }
    if (rc != LICENTIA_OK) return rc;
    const char *why;
    json_t *payload;
    rc = lc_accept_lease(answer, &asked, &c->h->keys, c->h->product, c->fp, &payload, issued, expires, &why);
    if (rc == LICENTIA_E_INVALID_DOCUMENT) lc_refusal_word(&c->h->refusal, why);
    if (rc == LICENTIA_OK) {
        *signed_out = json_incref(json_object_get(answer, "signed"));
        *payload_out = payload;
    }
    json_decref(answer);
    return rc;
}

/* The borrowed lease kept in lease.json, if it verifies for this machine and has not ended by the checked clock. */
static licentia_lease *stored_borrow(call *c) {
    size_t len;
    char path[4096];
    snprintf(path, sizeof path, "%s" LC_PATH_SEP LEASE_FILE, c->h->data_dir);
    char *raw = lc_read_small_file(path, MAX_LEASE_BYTES, &len);
    json_t *signed_doc = raw ? lc_parse(raw, len) : NULL;
    free(raw);
    long long last_seen = LC_NO_TIME, issued, expires;
    if (c->state->last_seen && lc_parse_iso(c->state->last_seen, &last_seen) != 0) last_seen = LC_NO_TIME;
    /* The clock wound back below the latest time seen, to stretch a borrow: nothing. */
    if (!json_is_object(signed_doc) || (last_seen != LC_NO_TIME && c->now < last_seen - c->h->tolerance_ms)) {
        json_decref(signed_doc);
        return NULL;
    }
    if (c->state->device && (last_seen == LC_NO_TIME || c->now > last_seen)) {
        char iso[21];
        lc_format_iso(c->now, iso);
        char *copy = strdup(iso);
        if (copy) free(c->state->last_seen), c->state->last_seen = copy, lc_state_save(c->h->data_dir, c->state);
    }
    long long at = lc_server_time(c->now, c->state->clock_offset);
    json_t *payload;
    licentia_lease *l = !lc_stored_lease(signed_doc, &c->h->keys, c->h->product, c->fp, at, &payload, &issued, &expires) ? new_lease() : NULL;
    if (l && take_lease(l, c, signed_doc, payload, at, expires) != LICENTIA_OK) licentia_lease_free(l), l = NULL;
    json_decref(payload);
    json_decref(signed_doc);
    return l;
}

licentia_error licentia_checkout(licentia *h, const char *key, int borrow_days, licentia_lease **out) {
    char normalized[30];
    if (!out) return LICENTIA_E_ARGUMENT;
    *out = NULL;
    if (!h || !key || borrow_days < 0 || borrow_days > 365) return LICENTIA_E_ARGUMENT;
    if (lc_normalize_key(key, normalized) != 0) return LICENTIA_E_INVALID_KEY; /* before any network call */
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    json_t *signed_doc, *payload;
    long long issued, expires;
    licentia_error rc = lease_call(&c, "/v1/leases", normalized, borrow_days, &signed_doc, &payload, &issued, &expires);
    if (rc == LICENTIA_OK) {
        licentia_lease *l = new_lease();
        if (l) l->key = strdup(normalized), l->online = 1;
        rc = l && l->key ? take_lease(l, &c, signed_doc, payload, issued, expires) : LICENTIA_E_NOMEM;
        if (rc == LICENTIA_OK) *out = l;
        else licentia_lease_free(l);
    } else if (rc == LICENTIA_E_OFFLINE && (*out = stored_borrow(&c))) {
        rc = LICENTIA_OK; /* offline: the seat borrowed earlier, until its end */
    }
    json_decref(signed_doc), json_decref(payload);
    lc_call_end(&c);
    return rc;
}

/* The lease's endpoint for verb into path; 1 when the lease was released already (nothing to send). */
static int lease_path(licentia_lease *l, const char *verb, char *path, size_t size) {
    lc_mutex_lock(&l->lock);
    int released = l->state == RELEASED;
    snprintf(path, size, "/v1/leases/%.40s/%s", l->id, verb);
    lc_mutex_unlock(&l->lock);
    return released;
}

static int ends_here(const char *code) {
    return !strcmp(code, LICENTIA_REFUSAL_LEASE_EXPIRED) || !strcmp(code, LICENTIA_REFUSAL_UNKNOWN_LEASE);
}

licentia_error licentia_lease_heartbeat(licentia *h, licentia_lease *l) {
    if (!h || !l || !l->id) return LICENTIA_E_ARGUMENT;
    char path[128];
    if (lease_path(l, "heartbeat", path, sizeof path)) return LICENTIA_E_REFUSED;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    json_t *signed_doc, *payload;
    long long issued, expires;
    licentia_error rc = lease_call(&c, path, NULL, 0, &signed_doc, &payload, &issued, &expires);
    /* The server ended the lease (it ran out while offline, or the vendor freed it): take a seat again. */
    if (rc == LICENTIA_E_REFUSED && ends_here(h->refusal.code) && l->key)
        rc = lease_call(&c, "/v1/leases", l->key, 0, &signed_doc, &payload, &issued, &expires);
    if (rc == LICENTIA_OK) {
        rc = take_lease(l, &c, signed_doc, payload, issued, expires);
        l->online = 1;
    } else if (rc == LICENTIA_E_REFUSED) {
        lc_mutex_lock(&l->lock);
        if (l->state != RELEASED) {
            l->state = LOST; /* no seat free, or the license stopped allowing use */
            snprintf(l->error, sizeof l->error, "%s", h->refusal.code);
        }
        lc_mutex_unlock(&l->lock);
    } /* offline: the lease holds until its end; try again sooner */
    json_decref(signed_doc), json_decref(payload);
    lc_call_end(&c);
    return rc;
}

licentia_error licentia_lease_release(licentia *h, licentia_lease *l) {
    if (!h || !l || !l->id) return LICENTIA_E_ARGUMENT;
    char path[128];
    if (lease_path(l, "release", path, sizeof path)) return LICENTIA_OK;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    licentia_status *ignored = NULL;
    licentia_error rc = state.device ? LICENTIA_OK : lc_device_call(&c, "/v1/check", NULL, &ignored);
    licentia_status_free(ignored);
    json_t *answer = NULL;
    if (rc == LICENTIA_OK)
        rc = lc_exchange(h->server_url, "POST", path, NULL, state.device, state.secret, (long)(c.deadline - lc_monotonic_ms()),
                         &answer, &h->refusal);
    json_decref(answer);
    if (rc == LICENTIA_E_REFUSED && !strcmp(h->refusal.code, LICENTIA_REFUSAL_UNKNOWN_LEASE)) rc = LICENTIA_OK;
    lc_mutex_lock(&l->lock);
    l->state = RELEASED; /* offline: the seat frees itself when the lease ends */
    lc_mutex_unlock(&l->lock);
    /* The kept document of this lease goes (a newer lease's stays). */
    char file[4096];
    size_t len;
    snprintf(file, sizeof file, "%s" LC_PATH_SEP LEASE_FILE, h->data_dir);
    char *raw = lc_read_small_file(file, MAX_LEASE_BYTES, &len);
    json_t *kept = raw ? lc_parse(raw, len) : NULL;
    if (lc_same_text(json_object_get(json_object_get(kept, "document"), "lease"), l->id)) lc_remove_file(file);
    json_decref(kept);
    free(raw);
    lc_call_end(&c);
    return rc;
}

static int held(const licentia_lease *l) {
    return (l->state == ACTIVE || l->state == BORROWED) && lc_monotonic_ms() < l->deadline;
}

int licentia_lease_valid(const licentia_lease *l) {
    if (!l) return 0;
    lc_mutex_lock(lock_of(l));
    int valid = held(l);
    lc_mutex_unlock(lock_of(l));
    return valid;
}

const char *licentia_lease_state(const licentia_lease *l) {
    if (!l) return LICENTIA_LEASE_EXPIRED;
    lc_mutex_lock(lock_of(l));
    const char *name = (l->state == ACTIVE || l->state == BORROWED) && !held(l) ? LICENTIA_LEASE_EXPIRED : NAMES[l->state];
    lc_mutex_unlock(lock_of(l));
    return name;
}

const char *licentia_lease_id(const licentia_lease *l) { return l ? l->id : NULL; }
const char *licentia_lease_expires_at(const licentia_lease *l) { return l ? l->expires_at : NULL; }
const char *licentia_lease_error(const licentia_lease *l) { return l && l->error[0] ? l->error : NULL; }
int licentia_lease_borrowed(const licentia_lease *l) { return l ? l->borrowed : 0; }
int licentia_lease_online(const licentia_lease *l) { return l ? l->online : 0; }
double licentia_lease_heartbeat_seconds(const licentia_lease *l) { return l ? l->heartbeat_seconds : 0; }

int licentia_lease_has_feature(const licentia_lease *l, const char *name) {
    size_t i;
    json_t *v;
    int found = 0;
    if (!l || !name) return 0;
    lc_mutex_lock(lock_of(l));
    if (held(l)) json_array_foreach(l->features, i, v) found |= lc_same_text(v, name);
    lc_mutex_unlock(lock_of(l));
    return found;
}

/* The entitlement `name` while the lease is valid, read under its lock (a heartbeat may replace them). */
typedef struct {
    int kind; /* 0 none, 1 bool, 2 integer, 3 string */
    long long number;
    const char *text; /* lives in the lease until its next heartbeat */
} found_entitlement;

static found_entitlement entitlement(const licentia_lease *l, const char *name) {
    found_entitlement e = {0, 0, NULL};
    if (!l || !name) return e;
    lc_mutex_lock(lock_of(l));
    const json_t *v = held(l) ? json_object_get(l->entitlements, name) : NULL;
    if (json_is_boolean(v)) e.kind = 1, e.number = json_is_true(v);
    else if (json_is_integer(v)) e.kind = 2, e.number = json_integer_value(v);
    else if (json_is_string(v)) e.kind = 3, e.text = json_string_value(v);
    lc_mutex_unlock(lock_of(l));
    return e;
}

int licentia_lease_entitlement_bool(const licentia_lease *l, const char *name, int default_value) {
    found_entitlement e = entitlement(l, name);
    return e.kind == 1 ? (int)e.number : default_value;
}

long long licentia_lease_entitlement_int(const licentia_lease *l, const char *name, long long default_value) {
    found_entitlement e = entitlement(l, name);
    return e.kind == 2 ? e.number : default_value;
}

const char *licentia_lease_entitlement_string(const licentia_lease *l, const char *name, const char *default_value) {
    found_entitlement e = entitlement(l, name);
    return e.kind == 3 ? e.text : default_value;
}

void licentia_lease_free(licentia_lease *l) {
    if (!l) return;
    if (l->key) memset(l->key, 0, strlen(l->key));
    free(l->id), free(l->key), free(l->expires_at);
    json_decref(l->entitlements), json_decref(l->features);
    lc_mutex_destroy(&l->lock);
    free(l);
}
