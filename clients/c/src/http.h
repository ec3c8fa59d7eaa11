#ifndef LICENTIA_HTTP_H
#define LICENTIA_HTTP_H
#include <stdlib.h>

#include "internal.h"

/* One request; LICENTIA_OK means an HTTP answer arrived (any status, in *status). */
licentia_error lc_http(const char *url, const char *method, const char *body, const char *device, const char *secret,
                       long timeout_ms, long *status, lc_buf *answer);
#endif
