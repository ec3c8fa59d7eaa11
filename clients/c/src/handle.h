/* The handle's insides, shared by client.c, events.c, values.c and moves.c. */
#ifndef LICENTIA_HANDLE_H
#define LICENTIA_HANDLE_H

#include "http.h"
#include "internal.h"
#include "platform.h"
#include "state.h"

struct licentia {
    lc_mutex lock; /* calls on one handle run one at a time */
    char *server_url, *product, *data_dir, *app_version, *channel, *root;
    char *ticket; /* the installer ticket's path (tickets.c), or NULL */
    lc_keyset keys;
    long timeout_ms;
    long long tolerance_ms, fixed_now;
    lc_refusal refusal; /* the last refusal on this handle (licentia_last_refusal and its details) */
    unsigned event_counter; /* orders events queued in the same millisecond */
};

/* One call in progress: the handle (locked), the loaded state, this call's fingerprint, its times. */
typedef struct {
    licentia *h;
    lc_state *state;
    const lc_fingerprint *fp;
    long long now, deadline;
    int escrow_read; /* the escrow is read at most once a call (escrow.c) */
    int resumed;     /* the credential came from the escrow: the request says so (a reinstall) */
    const char *device_code; /* a sign-in's poll (signin.c): sent to /v1/device/token only; NULL otherwise */
} call;

/*
 * Start a call: lock the handle, load the state, read the hardware afresh (a cached
 * fingerprint would let a copied state lend it), fix the call's time and deadline.
 * lc_call_end clears the state and unlocks.
 */
void lc_call_begin(licentia *h, call *c, lc_state *state, lc_fingerprint *fp);
void lc_call_end(call *c);
/* POST a device call, verify and store the answer; mutates and saves the state. */
licentia_error lc_device_call(call *c, const char *path, const char *key, licentia_status **out);
/* One POST of the call's state and fingerprint with a fresh nonce; *asked receives what it asked. */
licentia_error lc_post(call *c, const char *path, const char *key, lc_asked *asked, json_t **answer);
/* Take the answer to `asked` (answers.c's rules) into the call's state, saved in the handle's data directory. */
licentia_error lc_take_answer(call *c, const lc_asked *asked, json_t *answer, licentia_status **out);
/* The installer ticket at `path` as the first check's "installer_ticket" field, or NULL (none, or not sendable). */
json_t *lc_installer_ticket(const char *path);
/* After a successful online call: queue the install and usage events that are due, then flush. */
void lc_after_online(call *c, int is_check);
/* Send queued events within the call's deadline (a first contact first, when there is no credential yet). */
void lc_flush_queue(call *c);

#endif
