/*
 * One licentia_check in a process of its own, for tests that change its clock (faketime):
 *
 *   probe SERVER_URL PUBLIC_KEY DATA_DIR FINGERPRINT_ROOT ONLINE
 *
 * prints "<rc> <allowed> <online> <days_left> <state> <reason or ->" and exits 0 when the call answered.
 */
#include <stdio.h>
#include <stdlib.h>

#include "licentia.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: probe SERVER_URL PUBLIC_KEY DATA_DIR FINGERPRINT_ROOT ONLINE\n");
        return 2;
    }
    licentia *h = NULL;
    licentia_error rc = licentia_open(&h, argv[1], "my-app", argv[2], argv[3]);
    if (rc != LICENTIA_OK) {
        printf("%d\n", rc);
        return 1;
    }
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, argv[4]);
    licentia_set_option(h, LICENTIA_OPT_TIMEOUT_MS, "5000");
    licentia_status *st = NULL;
    rc = licentia_check(h, atoi(argv[5]), &st);
    const char *reason = licentia_status_reason(st);
    printf("%d %d %d %ld %s %s\n", rc, licentia_status_allowed(st), licentia_status_online(st), licentia_status_days_left(st),
           licentia_status_state(st), reason ? reason : "-");
    licentia_status_free(st);
    licentia_close(h);
    return rc == LICENTIA_OK ? 0 : 1;
}
