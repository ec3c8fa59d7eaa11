#ifndef LICENTIA_HTTP_H
#define LICENTIA_HTTP_H
#include <stdlib.h>

#include "internal.h"

/*
 * One request; LICENTIA_OK means an HTTP answer arrived (any status, in *status). *retry_after (when
 * not NULL) receives the answer's Retry-After in seconds, or -1 when it has none (or an HTTP date).
 */
licentia_error lc_http(const char *url, const char *method, const char *body, const char *device, const char *secret,
                       long timeout_ms, long *status, lc_buf *answer, long long *retry_after);
#endif

#ifndef LICENTIA_HTTP_EXCHANGE
#define LICENTIA_HTTP_EXCHANGE
/*
 * Why the last call was refused: the server's error code (or this client's word, LICENTIA_ANSWER_* or
 * LICENTIA_MOVE_*), the error's other plain fields and its Retry-After. Unverified: figures to show
 * the user, never to grant anything by.
 */
typedef struct {
    char code[101];
    json_t *details;       /* an object of the error's string, integer and boolean fields; NULL when none */
    long long retry_after; /* seconds, -1 when the server said none */
} lc_refusal;

/* Forget the last refusal (code "", no details, no Retry-After). */
void lc_refusal_clear(lc_refusal *refusal);
/* A refusal of this client's own (a word, no details). */
void lc_refusal_word(lc_refusal *refusal, const char *word);

/*
 * A JSON exchange with base + path: LICENTIA_OK and the parsed answer (json_decref it);
 * LICENTIA_E_OFFLINE for no answer in time, a 5xx or garbage; LICENTIA_E_REFUSED with the
 * server's refusal in *refusal (when not NULL; cleared first on every exchange).
 */
licentia_error lc_exchange(const char *base, const char *method, const char *path, const json_t *body, const char *device,
                           const char *secret, long timeout_ms, json_t **answer, lc_refusal *refusal);
#endif
