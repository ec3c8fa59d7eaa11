/* The installation's credential kept outside its data directory (see escrow.c). */
#ifndef LICENTIA_ESCROW_H
#define LICENTIA_ESCROW_H

#include "internal.h"

/*
 * One installation's entry: the server's URL (without a trailing slash), the product, and the data
 * path's hash as sent in fingerprint.data_path.
 */
typedef struct {
    const char *server_url, *product, *data_path;
} lc_escrow;

/* The credential kept for this installation, malloc'd into *device and *secret: 0, or -1 when none is usable. */
int lc_escrow_load(const lc_escrow *escrow, char **device, char **secret);
/* Keep the credential; a failure (no home directory, a read-only disk) is ignored: it only costs a later reinstall. */
void lc_escrow_save(const lc_escrow *escrow, const char *device, const char *secret);
/* Remove the entry: LICENTIA_OK (also when there was none), or LICENTIA_E_IO when it stays. */
licentia_error lc_escrow_forget(const lc_escrow *escrow);

#endif
