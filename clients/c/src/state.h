/* The sealed state file (see state.c). */
#ifndef LICENTIA_STATE_H
#define LICENTIA_STATE_H

#include "internal.h"

typedef struct {
    json_t *signed_doc; /* unverified until used */
    char *device, *secret, *token, *last_seen, *last_usage_report;
    long long clock_offset; /* seconds from the local clock to the server's, measured on the last bound answer */
    int install_reported, facts_opt_out, corrupt;
} lc_state;

void lc_state_load(const char *data_dir, lc_state *state);
/* The state in a state.json's bytes (format 2 sealed, or an older SDK's unsealed format 1); corrupt when damaged. */
void lc_state_parse(lc_state *state, const char *raw, size_t len);
licentia_error lc_state_save(const char *data_dir, const lc_state *state);
void lc_state_clear(lc_state *state);

#endif
