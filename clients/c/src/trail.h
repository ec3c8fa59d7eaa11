/* The proxy-log trail and the usage reports' schedule (see trail.c). */
#ifndef LICENTIA_TRAIL_H
#define LICENTIA_TRAIL_H

#include "internal.h"

/* The request targets ("/v1/trail?...") of one event's trail GETs, in order: a new array of strings. */
json_t *lc_trail_targets(const char *product, const char *mode, const char *event_id, const json_t *fields);
/* Whether a registered installation reports usage at this online check (the signed document `doc`). */
int lc_usage_due(const json_t *doc, const char *last_report, long long now_ms);
/* Send the trail GETs of a batch of queued events (a JSON array) before its POST; failures are ignored. */
void lc_send_trail(const char *base, const char *product, const json_t *events, long long deadline);

#endif
