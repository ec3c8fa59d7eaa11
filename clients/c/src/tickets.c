/*
 * The installer ticket: the signed file (licentia-ticket.json) the vendor's installer puts beside
 * the program. Its text goes with the first check of an installation, the one without a credential
 * (LICENTIA_OPT_INSTALLER_TICKET names the file); the server starts the installation from it and
 * records another computer starting from the same file as a copy of that download. The library never
 * verifies the signature (the server does, and refuses a forged or edited ticket with
 * invalid_installer_ticket); it only refuses to send what cannot be a ticket (the conformance vectors'
 * installer_tickets rule): such a file, or none, and the first contact goes on without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "internal.h"

const char *licentia_ticket_problem(const void *bytes, size_t length) {
    if (length > LICENTIA_MAX_TICKET_BYTES) return "larger than 4096 bytes";
    if (!bytes && length) return "not UTF-8 JSON";
    json_error_t error;
    /* Jansson takes UTF-8 only, and any top-level value (an array is JSON, just not a ticket). */
    json_t *signed_doc = json_loadb(bytes ? bytes : "", length, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (!signed_doc) return "not UTF-8 JSON";
    const json_t *document = json_object_get(signed_doc, "document");
    const json_t *kind = json_object_get(document, "kind");
    const char *problem = NULL;
    if (!json_is_object(document) || !json_is_string(kind) || !lc_same_text(kind, "installer_ticket"))
        problem = "not an installer ticket";
    else if (!json_is_string(json_object_get(signed_doc, "kid")) || !json_is_string(json_object_get(signed_doc, "sig")))
        problem = "not a signed document";
    json_decref(signed_doc);
    return problem;
}

json_t *lc_installer_ticket(const char *path) {
    if (!path) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL; /* no ticket beside this installation: a first contact as any other */
    char raw[LICENTIA_MAX_TICKET_BYTES + 1];
    size_t n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    /* Not sent (the library writes no log: licentia_ticket_problem tells the application why). */
    if (licentia_ticket_problem(raw, n)) return NULL;
    return json_stringn(raw, n); /* the file's text, unchanged */
}
