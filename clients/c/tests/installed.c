/* An application built against the installed library with pkg-config (make install-check). */
#include <licentia.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    char *key = NULL;
    int ok = !strcmp(licentia_version(), LICENTIA_VERSION) && licentia_protocol_version() == LICENTIA_PROTOCOL_VERSION &&
             licentia_api_version() == LICENTIA_API_VERSION &&
             licentia_normalize_key("7kq2m aaaaa bbbbb ccccc ddddd", &key) != LICENTIA_E_ARGUMENT;
    licentia_free(key);
    printf("liblicentia %s, protocol %d, API %d\n", licentia_version(), licentia_protocol_version(), licentia_api_version());
    return ok ? 0 : 1;
}
