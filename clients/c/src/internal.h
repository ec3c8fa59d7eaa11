/* Internal interfaces of the Licentia C library: the core's rules, held to the conformance vectors. */
#ifndef LICENTIA_INTERNAL_H
#define LICENTIA_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "licentia.h"

#define LC_NO_TIME LICENTIA_NO_TIME
#define LC_MAX_COMPONENTS 8
#define LC_HASH_HEX 65

/* A growable byte buffer; on allocation failure `failed` is set and later appends do nothing. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} lc_buf;

int lc_buf_append(lc_buf *buf, const char *bytes, size_t n);
int lc_buf_puts(lc_buf *buf, const char *text);
/* NUL-terminates and hands over the data (NULL on failure); the buffer is emptied. */
char *lc_buf_take(lc_buf *buf);
void lc_buf_free(lc_buf *buf);

/* Canonical JSON (sorted keys, no white space, UTF-8, 64-bit integers, no floats); -1 if refused. */
int lc_canonical(const json_t *value, lc_buf *out);
/* Parse JSON the way documents are parsed (NUL in strings allowed, any top-level value). */
json_t *lc_parse(const char *text, size_t length);
/* The JSON string `value` is exactly `text` (NUL characters included in the comparison). */
int lc_same_text(const json_t *value, const char *text);
/* A credential part or token as the server makes them: short (1-200) printable ASCII. */
int lc_is_token(const json_t *value);

typedef struct {
    unsigned char key[32];
    char kid[17];
} lc_key;

typedef struct {
    lc_key *items;
    size_t count, cap;
} lc_keyset;

int lc_key_load(const char *text, size_t length, lc_key *out);
int lc_keyset_add(lc_keyset *set, const lc_key *key);
/* Parse "ed25519:..." keys separated by newlines or commas; LICENTIA_E_ARGUMENT if none or one is bad. */
licentia_error lc_keyset_parse(const char *texts, lc_keyset *out);
void lc_keyset_free(lc_keyset *set);

/*
 * Verify a signed document: on LICENTIA_OK *payload is a new reference to the
 * verified payload object (json_decref it). at_ms: LC_NO_TIME or the verifier's time.
 */
licentia_error lc_verify(const json_t *signed_doc, const lc_keyset *pinned, const char *product, long long at_ms,
                         json_t **payload);

/* Times: ms since the epoch. */
int lc_parse_iso(const char *text, long long *ms);
void lc_format_iso(long long ms, char out[21]);

/* Fingerprints. */
typedef struct {
    char name[16];
    char value[LC_HASH_HEX];
} lc_component;

typedef struct {
    lc_component items[LC_MAX_COMPONENTS];
    size_t count;
    char data_path[LC_HASH_HEX];
} lc_fingerprint;

void lc_component_hash(const char *product, const char *name, const char *raw, size_t raw_len, char out[LC_HASH_HEX]);
size_t lc_required_matches(const lc_fingerprint *presented, long long min_match);
int lc_matches(const json_t *stored, const lc_fingerprint *presented, long long min_match);
/* Read the hardware (root: NULL for this machine, or a fake Linux tree) and hash it for product. */
void lc_read_fingerprint(const char *product, const char *root, const char *data_dir, lc_fingerprint *out);

/* License keys: 0 and the grouped form (30 bytes with NUL) in out, or -1 for a typo. */
int lc_normalize_key(const char *text, char out[30]);

struct licentia_status {
    int allowed;
    int online;
    long days_left; /* -1: unlimited */
    char *state;
    char *reason;
    char *device;
    char **features;
    size_t feature_count;
    /* From the verified document (status_extras.c); empty when the status has none. */
    json_t *entitlements;           /* name -> true/false, integer or string, in force now; NULL: none */
    long long customer_id;          /* -1: no licensee */
    char *customer_name;
    char *user;                     /* the person signed in (a license whose seats are users), or NULL */
    int has_maintenance, clone_suspected;
    int unsaved; /* verified and answered, but the data directory could not keep it */
    char *maintenance_until, *maintenance_newer;
    char *release_version, *release_channel, *release_url; /* the signed latest release; the URL https only */
};

/* The entitlements, licensee, maintenance and latest release of a verified payload into st (-1: out of memory). */
int lc_status_extras(licentia_status *st, const json_t *payload, long long now_ms);
/* The entitlements of a verified document in force at now_ms (a new object; NULL when out of memory). */
json_t *lc_entitlements_in_force(const json_t *unverified, long long now_ms);
/* The licensee {"id", "name"} and the maintenance {"until", "newer_release"} a verified payload names (new objects), or NULL. */
json_t *lc_customer_of(const json_t *payload);
json_t *lc_maintenance_of(const json_t *payload);
/* The release an answer describes as the application may show it (a new object), or NULL: no version. */
json_t *lc_release_of(const json_t *unverified);
/* An https:// URL of printable ASCII without spaces (what a release may send the user to). */
int lc_is_https_url(const char *text);

licentia_status *lc_denied(const char *reason, const char *state, int online);
/* Apply the status rules to a verified payload at now_ms (NULL only when out of memory). */
licentia_status *lc_status_of(const json_t *payload, long long now_ms, int online);
/* Signature, product, issue time, then this installation's components and data path. */
licentia_error lc_verify_for_installation(const json_t *signed_doc, const lc_keyset *pinned, const char *product,
                                          const lc_fingerprint *presented, long long at_ms, json_t **payload);
/*
 * The offline decision; signed_doc may be NULL (nothing stored). Rollback: now_ms (local) against
 * last_seen_ms (local); everything else at now_ms + offset_s (the server's time by the offset the
 * last bound answer measured). NULL only when out of memory.
 */
licentia_status *lc_decide_offline(const json_t *signed_doc, const lc_keyset *pinned, const char *product,
                                   const lc_fingerprint *presented, long long now_ms, long long last_seen_ms,
                                   long long tolerance_ms, long long offset_s);

/* Online answers bound to their request (answers.c). */
#define LC_NONCE_SIZE 23 /* 16 random bytes, unpadded base64url: 22 characters and the NUL */

/* What one online request asked. */
typedef struct {
    char nonce[LC_NONCE_SIZE]; /* sent as "nonce"; the answer must carry it back */
    const char *device;        /* whose credential the request carried; NULL at first contact */
    const json_t *known;       /* the installation's last signed document (unverified), or NULL */
} lc_asked;

/* An answer taken (LICENTIA_OK from lc_accept_answer), or why not. */
typedef struct {
    json_t *payload;       /* the verified document (json_decref it); NULL when refused */
    const char *refusal;   /* NULL, or the LICENTIA_ANSWER_* word of the first rule that failed */
    long long issued_ms;   /* the server's time when it answered: the status is judged there */
    long long offset_s;    /* issued_at - local receipt time, whole seconds (0 beyond a century) */
    const char *credential_device, *credential_secret; /* a new credential for the document's device, or NULL
                                                          (borrowed from the answer) */
} lc_answer;

/* A fresh nonce from the OS's CSPRNG. */
void lc_new_nonce(char out[LC_NONCE_SIZE]);
/* round(issued - local) in whole seconds (half to even, as the core), 0 beyond +/-100 years. */
long long lc_clock_offset(long long issued_ms, long long local_ms);
/* The server's time now, by the local clock and the kept offset. */
long long lc_server_time(long long local_ms, long long offset_s);
/*
 * Take a server's answer ({"credential", "signed"}) to the request `asked`, received at local time
 * received_ms, only in this order: the signature verifies for this product and names this
 * installation's hardware and data path, the document carries asked->nonce, names the device that
 * asked (or the one of a new credential it carries), and, for that device, the machine of the known
 * document. LICENTIA_E_INVALID_DOCUMENT with out->refusal set when refused; nothing is stored here.
 */
licentia_error lc_accept_answer(const json_t *answer, const lc_asked *asked, const lc_keyset *pinned,
                                const char *product, const lc_fingerprint *presented, long long received_ms,
                                lc_answer *out);

/*
 * The credential an answer carries outside the signature, kept only when both parts are tokens and its
 * device is the one the verified payload names (status.credential_of): 1 and the parts borrowed from
 * answer, else 0.
 */
int lc_credential_of(const json_t *answer, const json_t *payload, const char **device, const char **secret);
/* The last-seen rule (witnesses.rolled_back and seen): times in ms, last_seen_ms LC_NO_TIME when none. */
int lc_rolled_back(long long last_seen_ms, long long now_ms, long long tolerance_ms);
long long lc_seen(long long last_seen_ms, long long now_ms, int answered);

/* Metered use (meters.c): the figures of an answer (-1: malformed), and what a consumption's answer means
 * ("consumed", "invalid_answer", "offline", "quota_exceeded", "check_and_retry", "refused"; code: the refusal's). */
int lc_consumption_of(const json_t *unverified, licentia_consumption *out);
const char *lc_consumption_outcome(const char *meter, long long now_ms, long status, const char *body, size_t length,
                                   licentia_consumption *out, char code[101]);

/*
 * A verified answer of another kind (a lease) that carries no credential: LICENTIA_OK when it answers
 * `asked` (its nonce, its device, that device's machine), else LICENTIA_E_INVALID_DOCUMENT and *why.
 */
licentia_error lc_bound(const json_t *payload, const lc_asked *asked, const lc_keyset *pinned, const char *product,
                        const char **why);

/*
 * Lease documents (leases.c): verified for this machine (the pinned keys, product, type floating_lease,
 * its times, K-of-N components; not the data path), a new reference or NULL; an answer taken only
 * when it names its document's lease ("other_lease") and answers `asked` (lc_bound); a stored one used
 * only when borrowed ("not_borrowed") and before its end ("ended"), at_ms the set-right local time.
 */
json_t *lc_verify_lease(const json_t *signed_doc, const lc_keyset *keys, const char *product, const lc_fingerprint *fp,
                        long long at_ms, long long *issued, long long *expires);
licentia_error lc_accept_lease(const json_t *answer, const lc_asked *asked, const lc_keyset *keys, const char *product,
                               const lc_fingerprint *fp, json_t **payload, long long *issued, long long *expires,
                               const char **why);
const char *lc_stored_lease(const json_t *signed_doc, const lc_keyset *keys, const char *product, const lc_fingerprint *fp,
                            long long at_ms, json_t **payload, long long *issued, long long *expires);
/*
 * Air-gapped files (airgapped.c): the request for these inputs (fingerprint: components, data_path,
 * virtual; box_sk and seed: the new X25519 and Ed25519 private keys), malloc'd; and a response opened
 * for this installation, in the order of the refusals: NULL and *out filled (clear it), or
 * "not_a_response", "unknown_version", "other_product", "unknown_request", "invalid_document",
 * "other_request", "sealed_elsewhere", "other_installation". pending: the requests written here.
 */
char *lc_request_text(const char *product, const char *key, const json_t *fingerprint, const char *nonce,
                      const char *created_at, const unsigned char box_sk[32], const unsigned char seed[32],
                      const char *app_version, const char *os);
typedef struct {
    json_t *payload, *signed_doc, *credential, *activation; /* the verified document, as stored, {device, secret}, its id */
    const json_t *entry;                                     /* the pending request it answers (borrowed) */
    size_t index;
} lc_opened_response;
const char *lc_open_response(const char *text, size_t length, const char *product, const lc_keyset *keys,
                             const lc_fingerprint *fp, const json_t *pending, long long at_ms, lc_opened_response *out);
void lc_opened_response_clear(lc_opened_response *response);
/* The signed heartbeat interval when above 0 and at most half the lease, else a quarter of it (30 s without one). */
double lc_heartbeat_seconds(const json_t *payload);

#endif
