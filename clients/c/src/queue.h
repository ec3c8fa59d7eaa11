/* The durable event queue (see queue.c). */
#ifndef LICENTIA_QUEUE_H
#define LICENTIA_QUEUE_H

#include "internal.h"

typedef struct {
    const char *base, *device, *secret;
    long long deadline; /* lc_monotonic_ms() scale */
    const char *trail;  /* the product whose proxy-log trail is on (trail.c), or NULL */
} lc_sender;

/* Queue one event (data and facts are stolen; NULL for {}). */
licentia_error lc_queue_add(const char *data_dir, unsigned counter, const char *kind, long long now_ms, json_t *data,
                            json_t *facts);
size_t lc_queue_count(const char *data_dir);
/* Send queued events until none are left, the deadline passes, or the server cannot take them. */
licentia_error lc_queue_flush(const char *data_dir, const lc_sender *to, size_t *sent);

#endif
