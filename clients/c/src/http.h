#ifndef LICENTIA_HTTP_H
#define LICENTIA_HTTP_H
#include <stdlib.h>

#include "internal.h"

/* One request; LICENTIA_OK means an HTTP answer arrived (any status, in *status). */
licentia_error lc_http(const char *url, const char *method, const char *body, const char *device, const char *secret,
                       long timeout_ms, long *status, lc_buf *answer);
#endif

#ifndef LICENTIA_HTTP_EXCHANGE
#define LICENTIA_HTTP_EXCHANGE
/*
 * A JSON exchange with base + path: LICENTIA_OK and the parsed answer (json_decref it);
 * LICENTIA_E_OFFLINE for no answer in time, a 5xx or garbage; LICENTIA_E_REFUSED with the
 * server's error code copied into refusal.
 */
licentia_error lc_exchange(const char *base, const char *method, const char *path, const json_t *body, const char *device,
                           const char *secret, long timeout_ms, json_t **answer, char *refusal, size_t refusal_size);
#endif
