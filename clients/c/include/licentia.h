/*
 * Licentia client library for C and C++ (and C#, Go, Rust through their FFI).
 *
 * One opaque handle per product and data directory; every call returns a
 * licentia_error. No global state of its own; a handle may be shared between
 * threads (calls on one handle run one at a time). The handle never grants
 * more than a document signed by a pinned key (or a key they endorsed) says.
 *
 * Ownership of every pointer the library returns:
 * - licentia *: licentia_close; licentia_status *: licentia_status_free; licentia_lease *: licentia_lease_free;
 * - char * handed over through an out parameter (char **): licentia_free;
 * - const char * returned by a function: owned by the library; a status's or lease's strings live until
 *   that status or lease is freed, licentia_error_message's and licentia_version's for ever. Never free them;
 * - strings copied into a buffer the caller passes (licentia_last_refusal, ..._detail): the caller's.
 */
#ifndef LICENTIA_H
#define LICENTIA_H

#include <stddef.h>

#include "licentia_vocabulary.h" /* the contract's words: LICENTIA_REFUSAL_*, LICENTIA_STATUS_*, LICENTIA_EVENT_*, ... */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Versions. LICENTIA_API_VERSION is the C ABI's (the shared library's soname, liblicentia.so.1): a
 * function or type changes only with a new one, and new functions are only ever added.
 * LICENTIA_VERSION is this library's release; LICENTIA_PROTOCOL_VERSION the server protocol it
 * speaks (the signed documents' "v"). Each request says both, as every client does: a
 * "Licentia-Protocol: <n>" header and the User-Agent "licentia-client-c/<version> (protocol <n>)".
 * The functions answer the library actually loaded.
 */
#define LICENTIA_API_VERSION 1
#define LICENTIA_VERSION "1.1.0"
#define LICENTIA_PROTOCOL_VERSION 1

typedef enum licentia_error {
    LICENTIA_OK = 0,
    LICENTIA_E_ARGUMENT = 1,         /* a bad argument, public key, product slug or option; a move between
                                        folders that cannot be made (licentia_last_refusal(): LICENTIA_MOVE_*) */
    LICENTIA_E_NOMEM = 2,            /* out of memory */
    LICENTIA_E_INVALID_KEY = 3,      /* a license key with a typo; no network call was made */
    LICENTIA_E_INVALID_DOCUMENT = 4, /* a signed document that does not verify for this product, or (online)
                                        an answer that is not the answer to this request: LICENTIA_ANSWER_* */
    LICENTIA_E_OFFLINE = 5,          /* the server could not be reached (or answered garbage) in time */
    LICENTIA_E_REFUSED = 6,          /* the server refused: see licentia_last_refusal() for its code */
    LICENTIA_E_IO = 7,               /* the data directory cannot be written */
    LICENTIA_E_QUOTA_EXCEEDED = 8    /* licentia_consume: past the meter's limit, nothing counted */
} licentia_error;

typedef enum licentia_option {
    LICENTIA_OPT_TIMEOUT_MS = 1,         /* whole-call deadline, default "3000" */
    LICENTIA_OPT_APP_VERSION = 2,        /* e.g. "1.4.0" */
    LICENTIA_OPT_CHANNEL = 3,            /* release channel, default "stable" */
    LICENTIA_OPT_FINGERPRINT_ROOT = 4,   /* a fake filesystem root for the Linux readers (tests) */
    LICENTIA_OPT_ROLLBACK_TOLERANCE_S = 5, /* default "7200" */
    LICENTIA_OPT_NOW = 6,                /* fix the clock at an ISO 8601 time (tests, simulations); "" = system clock */
    LICENTIA_OPT_INSTALLER_TICKET = 7    /* the path of the installer ticket (below); "" = none. The handle keeps a copy */
} licentia_option;

/*
 * The installer ticket: the signed file the vendor's installer puts beside the program
 * (LICENTIA_TICKET_FILE). With LICENTIA_OPT_INSTALLER_TICKET set to its path, the first check of an
 * installation (the one without a credential yet) sends the file's text; the server starts the
 * installation from it and records another computer starting from the same file as a copy of that
 * download. The file is read at that check only; a missing file is no ticket. A file that cannot be a
 * ticket is not sent and the first contact goes on without it: licentia_ticket_problem says why (the
 * library writes no log). A well-formed ticket the server refuses (forged, edited) is a refusal like
 * any other: licentia_check answers not allowed, with "invalid_installer_ticket" in
 * licentia_last_refusal(), and nothing is stored.
 */
#define LICENTIA_TICKET_FILE "licentia-ticket.json"
#define LICENTIA_MAX_TICKET_BYTES 4096

/*
 * Why the client refused a server's answer (LICENTIA_E_INVALID_DOCUMENT online, the word in
 * licentia_last_refusal(); licentia_check then answers from the stored document). Every online call
 * sends a fresh random nonce, and an answer counts only when its signed document verifies for this
 * installation and carries that nonce, for the device that asked, on its machine: a genuine answer
 * saved and replayed (by a fake server) is refused before anything of it is stored.
 */
#define LICENTIA_ANSWER_INVALID_DOCUMENT "invalid_document"     /* the signature, product, hardware or data path */
#define LICENTIA_ANSWER_NONCE_MISMATCH "nonce_mismatch"         /* not this request's nonce: another time's answer */
#define LICENTIA_ANSWER_OTHER_INSTALLATION "other_installation" /* another device's answer */
#define LICENTIA_ANSWER_OTHER_MACHINE "other_machine"           /* this device's, but for another machine */
#define LICENTIA_ANSWER_OTHER_LEASE "other_lease"               /* a lease answer naming another lease than its document */

/*
 * Why licentia_install_activation refused a response (LICENTIA_E_INVALID_DOCUMENT, the word in
 * licentia_last_refusal()), in the order they are tried; nothing changed.
 */
#define LICENTIA_RESPONSE_NOT_A_RESPONSE "not_a_response"     /* not an activation response file, or damaged */
#define LICENTIA_RESPONSE_UNKNOWN_VERSION "unknown_version"
#define LICENTIA_RESPONSE_OTHER_PRODUCT "other_product"
#define LICENTIA_RESPONSE_UNKNOWN_REQUEST "unknown_request"   /* answers no request this installation wrote (or installed) */
#define LICENTIA_RESPONSE_INVALID_DOCUMENT "invalid_document" /* its document does not verify for this machine now */
#define LICENTIA_RESPONSE_OTHER_REQUEST "other_request"
#define LICENTIA_RESPONSE_SEALED_ELSEWHERE "sealed_elsewhere" /* its credential does not open with this request's key */
#define LICENTIA_RESPONSE_OTHER_INSTALLATION "other_installation"

/*
 * Why licentia_move_from refused before anything was sent (LICENTIA_E_ARGUMENT, the word in
 * licentia_last_refusal()); nothing changed in either folder.
 */
#define LICENTIA_MOVE_NO_INSTALLATION "no_installation"     /* the old folder holds no installation's credential */
#define LICENTIA_MOVE_SAME_FOLDER "same_folder"             /* the old folder is this handle's own */
#define LICENTIA_MOVE_ALREADY_INSTALLED "already_installed" /* this handle's folder already holds an installation */

/*
 * Why the bytes of a ticket file must not be sent, or NULL when they may be (the signature is not
 * checked: the server does). The words (owned by the library): "larger than 4096 bytes",
 * "not UTF-8 JSON", "not an installer ticket" (not an object whose "document" is an object of "kind"
 * "installer_ticket"), "not a signed document" (no string "kid" and "sig").
 */
const char *licentia_ticket_problem(const void *bytes, size_t length);

/* Pass as at_unix_s to licentia_verify_document to skip the issue-time check. */
#define LICENTIA_NO_TIME (-9223372036854775807LL - 1)

typedef struct licentia licentia;
typedef struct licentia_status licentia_status;

/*
 * Open a handle. public_keys: one or more "ed25519:<kid>:<key>" separated by
 * newlines or commas (several during a key rotation). Nothing is read or sent yet.
 */
licentia_error licentia_open(licentia **out, const char *server_url, const char *product,
                             const char *public_keys, const char *data_dir);
licentia_error licentia_set_option(licentia *handle, licentia_option option, const char *value);
void licentia_close(licentia *handle);

/* This installation's status: from the server when it answers in time (online != 0), else the stored document. */
licentia_error licentia_check(licentia *handle, int online, licentia_status **out);
/*
 * Redeem a license key; a typo gives LICENTIA_E_INVALID_KEY before any network call. A refusal is
 * LICENTIA_E_REFUSED with its code in licentia_last_refusal(): LICENTIA_REFUSAL_TRANSFER_LIMIT (the
 * license moved to other computers as often as its type allows) says when it may move again in
 * licentia_last_retry_after() and licentia_last_refusal_detail(h, "next_transfer_at", ...).
 */
licentia_error licentia_activate(licentia *handle, const char *key, licentia_status **out);
/* Free this device's seat on its license. */
licentia_error licentia_deactivate(licentia *handle, licentia_status **out);
/*
 * Adopt the installation kept in old_data_dir (a previous version's data directory, same product, same
 * computer) into this handle's empty data directory, once: the same device, license and trial go on
 * here (the server records the move, or an upgrade when the app version changed), the kept credential
 * (licentia_forget_escrow) follows it to this data path, and the old directory's state.json is deleted
 * (a copy of it is void on the server now). LICENTIA_E_ARGUMENT (LICENTIA_MOVE_* in
 * licentia_last_refusal()) when the old directory holds no installation, is this one, or this one
 * already holds an installation; LICENTIA_E_REFUSED with LICENTIA_REFUSAL_OTHER_MACHINE (the old state
 * is another computer's), _STALE_TOKEN (check from the old directory first) or _INVALID_CREDENTIAL;
 * LICENTIA_E_OFFLINE, or LICENTIA_E_INVALID_DOCUMENT for an answer it does not take: nothing changes in
 * either directory then. LICENTIA_E_IO (with *out) when the server moved it but this directory cannot be
 * written: the old directory is kept, and the same call again finishes the move.
 */
licentia_error licentia_move_from(licentia *handle, const char *old_data_dir, licentia_status **out);
/*
 * Events (install and usage reports are queued by licentia_check itself). Each is
 * written to <data_dir>/events/ before the call returns and sent within the
 * timeout, or with a later call; the server counts a resend once.
 */
licentia_error licentia_feedback(licentia *handle, const char *text, const char *email); /* email may be NULL */
licentia_error licentia_uninstall(licentia *handle); /* from the uninstaller */
licentia_error licentia_flush(licentia *handle, size_t *remaining);                     /* remaining may be NULL */
/*
 * A reinstall is the same installation: besides <data_dir>/state.json, the library keeps this
 * installation's credential (device id and secret, never the license key) in the user's
 * configuration directory (licentia/credentials/, 0600 in a 0700 folder, shared with the Python
 * SDK), where an uninstaller does not look, and reads it only when the data directory holds no
 * credential. An uninstaller removes the data directory, not this; call licentia_forget_escrow
 * only when the user asks to forget this computer's installation: installing again is then a new
 * installation, which needs the license key again. LICENTIA_OK also when nothing was kept;
 * LICENTIA_E_IO when the entry cannot be removed.
 */
licentia_error licentia_forget_escrow(licentia *handle);
/*
 * The server's value store: JSON text in and out (free *json_out with licentia_free);
 * scope "device" (NULL) or "license". A key never set is LICENTIA_E_REFUSED with
 * licentia_last_refusal() = LICENTIA_REFUSAL_UNKNOWN_VALUE.
 */
licentia_error licentia_value_get(licentia *handle, const char *key, const char *scope, char **json_out);
licentia_error licentia_value_set(licentia *handle, const char *key, const char *scope, const char *json_value);
/* The newest release on the channel as JSON ({"version", "newer", ...}); *json_out is NULL when there is none. */
licentia_error licentia_latest_release(licentia *handle, char **json_out);
/*
 * Copy the server's error code of the last refusal on this handle into buf (e.g. LICENTIA_REFUSAL_INVALID_KEY),
 * or, when this client refused the server's answer, why (LICENTIA_ANSWER_*), or why licentia_move_from did
 * not move (LICENTIA_MOVE_*). Each call on the handle starts with no refusal.
 */
void licentia_last_refusal(licentia *handle, char *buf, size_t size);
/*
 * The last refusal's Retry-After in seconds: how long the server asked to wait before trying again
 * (LICENTIA_REFUSAL_TRANSFER_LIMIT: until the license may move to another computer again;
 * _RATE_LIMITED, _NO_SEAT_AVAILABLE, ...); -1 when it said none.
 */
long long licentia_last_retry_after(licentia *handle);
/*
 * A field of the last refusal's error body copied into buf as text (a string as it is, an integer in
 * decimal, "true"/"false"): "message" (the server's sentence for a person), and for
 * LICENTIA_REFUSAL_TRANSFER_LIMIT "next_transfer_at" (ISO 8601, UTC), "transfer_limit",
 * "transfer_period_days" and "transfers_used". 1 when the body has it, 0 (buf "") when not or null.
 * Unverified figures, to show the user: they grant nothing.
 */
int licentia_last_refusal_detail(licentia *handle, const char *name, char *buf, size_t size);

/*
 * Floating seats. licentia_checkout takes a seat of a floating license for this machine (borrow_days
 * 1-365: borrowed for offline use; 0: an ordinary lease). The library starts no thread: the
 * application calls licentia_lease_heartbeat every licentia_lease_heartbeat_seconds (what the server
 * signed, a third of the lease or so) from a thread or timer of its own; a lease the server ended is
 * checked out again there when a seat is free. LICENTIA_E_OFFLINE from a heartbeat: the lease holds
 * until its end, try again sooner. licentia_lease_valid is what the application checks. Offline,
 * licentia_checkout answers a borrowed lease kept in <data_dir>/lease.json until its end. Return the
 * seat with licentia_lease_release (a borrowed one early too), then free the lease with
 * licentia_lease_free. licentia_lease_valid and licentia_lease_state may be called from any thread
 * while another sends a heartbeat; the strings a lease returns are valid until the next heartbeat,
 * release or free of it. Refusals: LICENTIA_E_REFUSED with
 * LICENTIA_REFUSAL_NO_SEAT_AVAILABLE (licentia_last_retry_after), _NOT_FLOATING, _INVALID_KEY, ...
 */
typedef struct licentia_lease licentia_lease;
#define LICENTIA_LEASE_ACTIVE "active"     /* held, heartbeats due */
#define LICENTIA_LEASE_BORROWED "borrowed" /* held for offline use until its end */
#define LICENTIA_LEASE_EXPIRED "expired"   /* no heartbeat reached the server before its end */
#define LICENTIA_LEASE_LOST "lost"         /* the server ended it and no seat was free (licentia_lease_error) */
#define LICENTIA_LEASE_RELEASED "released"
licentia_error licentia_checkout(licentia *handle, const char *key, int borrow_days, licentia_lease **out);
licentia_error licentia_lease_heartbeat(licentia *handle, licentia_lease *lease);
licentia_error licentia_lease_release(licentia *handle, licentia_lease *lease);
int licentia_lease_valid(const licentia_lease *lease);
const char *licentia_lease_state(const licentia_lease *lease);      /* LICENTIA_LEASE_* */
const char *licentia_lease_id(const licentia_lease *lease);         /* "ls_..." */
const char *licentia_lease_expires_at(const licentia_lease *lease); /* ISO 8601, UTC (the server's clock) */
const char *licentia_lease_error(const licentia_lease *lease);      /* the refusal that lost it, or NULL */
int licentia_lease_borrowed(const licentia_lease *lease);
int licentia_lease_online(const licentia_lease *lease); /* 0: read from lease.json (a borrow used offline) */
double licentia_lease_heartbeat_seconds(const licentia_lease *lease); /* seconds between heartbeats (at least 1) */
/* Features and typed entitlements of the lease, while it is valid (else 0 / default_value). */
int licentia_lease_has_feature(const licentia_lease *lease, const char *name);
int licentia_lease_entitlement_bool(const licentia_lease *lease, const char *name, int default_value);
long long licentia_lease_entitlement_int(const licentia_lease *lease, const char *name, long long default_value);
const char *licentia_lease_entitlement_string(const licentia_lease *lease, const char *name, const char *default_value);
void licentia_lease_free(licentia_lease *lease); /* does not release the seat */

/*
 * Metered use: count amount (0 only reads the figures) of meter (a letter, then letters, digits,
 * "_", "." or "-", up to 64) on the server, for this installation's license. idempotency_key: NULL
 * for a new one, or 1-64 printable ASCII characters without spaces to make a retry of the
 * application's own count once. Retried with the same key after a network error within three times
 * the timeout. LICENTIA_OK or LICENTIA_E_QUOTA_EXCEEDED (nothing counted) fill *out (may be NULL).
 */
typedef struct licentia_consumption {
    char meter[65];
    long long used, limit, remaining;
    char period[33];       /* "day", "month", "lifetime", ... */
    char period_start[21]; /* ISO 8601, UTC */
    char period_end[21];   /* "" for a meter that never resets */
    int replayed;          /* the server had counted this consumption already (a retry): counted once */
} licentia_consumption;
licentia_error licentia_consume(licentia *handle, const char *meter, long long amount, const char *idempotency_key,
                                licentia_consumption *out);

/*
 * Signing the user in, for a license whose seats are named users (it activates no key): the OAuth 2.0
 * device authorization grant (RFC 8628). The library starts no thread; the application drives the wait:
 * 1. licentia_sign_in_begin asks the server for a code (the installation's credential first, at first
 *    contact); show licentia_sign_in_user_code and licentia_sign_in_verification_uri (or open
 *    licentia_sign_in_verification_uri_complete, the same page with the code filled in). The strings
 *    are owned by the sign-in (valid until licentia_sign_in_free); the secret device code inside is
 *    never handed out nor written to disk, and is wiped when freed;
 * 2. every licentia_sign_in_interval seconds (read it again after each poll: a LICENTIA_SIGN_IN_SLOW_DOWN
 *    adds 5), call licentia_sign_in_poll once, from any thread, until it answers
 *    LICENTIA_SIGN_IN_DONE: *out is the verified status, whose licentia_status_user names the person
 *    (bound to the poll's nonce and stored as a check's answer, so an offline licentia_check keeps it;
 *    LICENTIA_E_IO with *out: signed in, but the data directory could not keep it), or
 *    LICENTIA_SIGN_IN_REFUSED: LICENTIA_E_REFUSED with LICENTIA_REFUSAL_ACCESS_DENIED (the person refused),
 *    _EXPIRED_TOKEN (nobody confirmed within licentia_sign_in_expires_in seconds: begin again) or
 *    _INVALID_GRANT in licentia_last_refusal(). LICENTIA_SIGN_IN_PENDING: not yet (LICENTIA_OK), or no
 *    usable answer this time (LICENTIA_E_OFFLINE, LICENTIA_E_INVALID_DOCUMENT: nothing of it stored):
 *    poll again. Stop when the application's own deadline passes;
 * 3. licentia_sign_in_free.
 */
typedef struct licentia_sign_in licentia_sign_in;
typedef enum licentia_sign_in_result {
    LICENTIA_SIGN_IN_PENDING = 0,   /* wait licentia_sign_in_interval seconds, poll again */
    LICENTIA_SIGN_IN_SLOW_DOWN = 1, /* the same, with the interval 5 seconds longer from now on */
    LICENTIA_SIGN_IN_DONE = 2,      /* *out: the status naming the user */
    LICENTIA_SIGN_IN_REFUSED = 3    /* stop: licentia_last_refusal() says why */
} licentia_sign_in_result;
licentia_error licentia_sign_in_begin(licentia *handle, licentia_sign_in **out);
licentia_error licentia_sign_in_poll(licentia *handle, licentia_sign_in *sign_in, licentia_sign_in_result *result,
                                     licentia_status **out);
const char *licentia_sign_in_user_code(const licentia_sign_in *sign_in);                 /* e.g. "BDFG-HJKM" */
const char *licentia_sign_in_verification_uri(const licentia_sign_in *sign_in);          /* the portal's page */
const char *licentia_sign_in_verification_uri_complete(const licentia_sign_in *sign_in); /* with the code filled in */
long licentia_sign_in_expires_in(const licentia_sign_in *sign_in); /* seconds the code lives (from the server's answer) */
long licentia_sign_in_interval(const licentia_sign_in *sign_in);   /* seconds between polls */
void licentia_sign_in_free(licentia_sign_in *sign_in);

/*
 * Air-gapped activation, for a machine that never reaches the server:
 * 1. licentia_activation_request writes the text of a request for license key (a typo:
 *    LICENTIA_E_INVALID_KEY), keeping its private keys in <data_dir>/offline.json (0600); carry the
 *    text (*request_out, free with licentia_free) to the vendor;
 * 2. the vendor answers it (admin pages, developer API, `licentia license offline-activate`);
 * 3. licentia_install_activation installs the response text: only one answering a request this
 *    installation wrote, whose document verifies for this machine and whose credential opens with the
 *    kept key (else LICENTIA_E_INVALID_DOCUMENT, nothing changed). licentia_check(h, 0, ...) then
 *    answers from it until its lease ends; a later online check goes on with its credential.
 * licentia_deactivate_offline ends the activation here and gives the proof (*proof_out, licentia_free)
 * the vendor uploads to free the seat; asked again, the same proof. LICENTIA_E_ARGUMENT when this
 * installation holds no offline activation.
 */
licentia_error licentia_activation_request(licentia *handle, const char *key, char **request_out);
licentia_error licentia_install_activation(licentia *handle, const char *response, size_t length, licentia_status **out);
licentia_error licentia_deactivate_offline(licentia *handle, char **proof_out);

int licentia_status_allowed(const licentia_status *status);
/* trial, trial_expired, registered, suspended, blocked, grace, lease_expired, expired, clock_rollback, unknown */
const char *licentia_status_state(const licentia_status *status);
const char *licentia_status_reason(const licentia_status *status); /* NULL when there is none */
long licentia_status_days_left(const licentia_status *status);     /* -1 when unlimited */
int licentia_status_online(const licentia_status *status);
const char *licentia_status_device(const licentia_status *status); /* NULL when unknown */
size_t licentia_status_feature_count(const licentia_status *status);
const char *licentia_status_feature(const licentia_status *status, size_t index);
int licentia_status_has_feature(const licentia_status *status, const char *name);
void licentia_status_free(licentia_status *status);

/*
 * Typed entitlements (the license type's values in force now: export_pdf=true, max_projects=10,
 * edition="pro"): none while the status is not allowed, and one whose expiry has passed is absent.
 * A typed getter answers default_value when the entitlement is absent or of another type. Strings
 * and names are owned by the status (valid until licentia_status_free).
 */
typedef enum licentia_entitlement_type {
    LICENTIA_ENTITLEMENT_NONE = 0,
    LICENTIA_ENTITLEMENT_BOOL = 1,
    LICENTIA_ENTITLEMENT_INT = 2,
    LICENTIA_ENTITLEMENT_STRING = 3
} licentia_entitlement_type;
licentia_entitlement_type licentia_status_entitlement_type(const licentia_status *status, const char *name);
int licentia_status_entitlement_bool(const licentia_status *status, const char *name, int default_value);
long long licentia_status_entitlement_int(const licentia_status *status, const char *name, long long default_value);
const char *licentia_status_entitlement_string(const licentia_status *status, const char *name,
                                               const char *default_value);
size_t licentia_status_entitlement_count(const licentia_status *status);
const char *licentia_status_entitlement_name(const licentia_status *status, size_t index); /* NULL past the end */
/* The licensee of an activated installation (the customer's id and the name the vendor gave it); -1 / NULL when none. */
long long licentia_status_customer_id(const licentia_status *status);
const char *licentia_status_customer_name(const licentia_status *status);
/*
 * The person signed in on this installation (their email) on a license whose seats are named users
 * (licentia_sign_in_poll), from the signed document (offline too); NULL otherwise. Owned by the status
 * (valid until licentia_status_free).
 */
const char *licentia_status_user(const licentia_status *status);
/*
 * Maintenance (a licensed installation): until when the license gets updates (ISO 8601, NULL: every
 * release), and the newest version beyond it (an upgrade to offer; NULL when none).
 */
int licentia_status_has_maintenance(const licentia_status *status);
const char *licentia_status_maintenance_until(const licentia_status *status);
const char *licentia_status_maintenance_newer_version(const licentia_status *status);
/* The newest release the signed document names (NULL when none); the download URL only when https. */
const char *licentia_status_release_version(const licentia_status *status);
const char *licentia_status_release_channel(const licentia_status *status);
const char *licentia_status_release_download_url(const licentia_status *status);
/* The server suspects this installation is a copy of another (its token was replayed). */
int licentia_status_clone_suspected(const licentia_status *status);
/* The server's answer verified and is this status, but the data directory could not keep it (read-only,
 * full, or its path taken by a file): licentia_check answered LICENTIA_OK all the same; the next start
 * goes online again. Always 0 for a status decided offline. */
int licentia_status_unsaved(const licentia_status *status);

/*
 * Verify a signed document (as received, or the stored offline license file)
 * against the pinned keys for product. On success *payload_out (if not NULL)
 * receives the payload's canonical JSON, to be freed with licentia_free.
 * at_unix_s: refuse a document issued more than 10 minutes after this time,
 * or LICENTIA_NO_TIME.
 */
licentia_error licentia_verify_document(const char *signed_json, size_t length, const char *public_keys,
                                        const char *product, long long at_unix_s, char **payload_out);

/* Check a typed license key offline; on success *normalized_out (if not NULL) gets the grouped form. */
licentia_error licentia_normalize_key(const char *key, char **normalized_out);

const char *licentia_error_message(licentia_error error); /* a static string */
/*
 * Frees what the library handed over as a char * (licentia_value_get's JSON, licentia_latest_release's,
 * licentia_verify_document's payload, licentia_normalize_key's key, the air-gapped texts); NULL is fine.
 * Statuses and leases have their own free functions. Never free with another allocator's free (on
 * Windows the application's C runtime may not be the library's).
 */
void licentia_free(void *pointer);

const char *licentia_version(void);       /* "1.1.0": LICENTIA_VERSION of the loaded library (static) */
int licentia_protocol_version(void);      /* LICENTIA_PROTOCOL_VERSION of the loaded library */
int licentia_api_version(void);           /* LICENTIA_API_VERSION of the loaded library */

#ifdef __cplusplus
}
#endif

#endif
