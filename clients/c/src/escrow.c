/*
 * The installation's credential kept outside its data directory, so a reinstall resumes the
 * installation. An uninstaller deletes the data directory (state.json with the credential and the
 * rotating token); the server would then see a new installation, and a licensed application would
 * come back in trial. So the device id and secret (nothing else: never the license key) are also
 * kept in the user's configuration directory, in the place and format of the Python SDK's file
 * store (licentia/client/escrow.py), so an application built on either SDK resumes the other's:
 *
 *   <config>/licentia/credentials/<hex SHA-256 of "server\nproduct\ndata path hash">
 *   {"device": ..., "secret": ..., "server": ..., "product": ..., "data_path": ...}
 *
 * 0600 in a 0700 folder (on Windows, the ACL of the user's local application data), written
 * atomically. An entry is keyed by the server, the product and the data path's hash, so a second
 * data path (another installation on this computer) never takes it; one naming another
 * installation, damaged, too long, or reached through a symbolic link is ignored. The credential
 * authenticates only together with this machine's hardware: on another computer it is a copy, as a
 * copied data directory is.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escrow.h"
#include "platform.h"

#define MAX_ENTRY_BYTES 4096

/* <config>/licentia/credentials (malloc'd), NULL when the user's configuration directory is unknown. */
static char *directory(void) {
    char *config = lc_user_config_dir("licentia");
    if (!config) return NULL;
    size_t n = strlen(config) + sizeof LC_PATH_SEP "credentials";
    char *dir = malloc(n);
    if (dir) snprintf(dir, n, "%s" LC_PATH_SEP "credentials", config);
    free(config);
    return dir;
}

/* One name for the entry: the three keys hashed (a data path hash is public anyway). */
static void entry_name(const lc_escrow *e, char out[LC_HASH_HEX]) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)e->server_url, strlen(e->server_url));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)e->product, strlen(e->product));
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)e->data_path, strlen(e->data_path));
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, LC_HASH_HEX, digest, sizeof digest);
}

/* The entry's path (malloc'd), NULL when it cannot be known. */
static char *entry_path(const lc_escrow *e) {
    char name[LC_HASH_HEX], *dir = directory();
    if (!dir) return NULL;
    entry_name(e, name);
    size_t n = strlen(dir) + sizeof LC_PATH_SEP + sizeof name;
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s" LC_PATH_SEP "%s", dir, name);
    free(dir);
    return path;
}

int lc_escrow_load(const lc_escrow *e, char **device, char **secret) {
    *device = *secret = NULL;
    char *path = entry_path(e);
    size_t len = 0;
    char *text = path ? lc_read_small_file(path, MAX_ENTRY_BYTES, &len) : NULL;
    free(path);
    if (!text) return -1;
    json_t *entry = lc_parse(text, len);
    sodium_memzero(text, len);
    free(text);
    const json_t *d = json_object_get(entry, "device"), *s = json_object_get(entry, "secret");
    /* Only an entry of this server, product and data path, with well-formed parts. */
    int ok = json_is_object(entry) && lc_same_text(json_object_get(entry, "server"), e->server_url) &&
             lc_same_text(json_object_get(entry, "product"), e->product) &&
             lc_same_text(json_object_get(entry, "data_path"), e->data_path) && lc_is_token(d) && lc_is_token(s);
    if (ok && (!(*device = strdup(json_string_value(d))) || !(*secret = strdup(json_string_value(s))))) {
        free(*device), free(*secret);
        *device = *secret = NULL;
        ok = 0;
    }
    json_decref(entry);
    return ok ? 0 : -1;
}

void lc_escrow_save(const lc_escrow *e, const char *device, const char *secret) {
    char name[LC_HASH_HEX], *dir = directory();
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s, s:s}", "device", device, "secret", secret, "server", e->server_url,
                              "product", e->product, "data_path", e->data_path);
    /* The bytes Python's json.dumps writes: the same key order, ", " and ": ", ASCII only. */
    char *text = entry ? json_dumps(entry, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(entry);
    if (dir && text && strlen(text) <= MAX_ENTRY_BYTES) {
        entry_name(e, name);
        /* mkstemp's O_EXCL (CREATE_NEW on Windows): a link planted as the temporary file is never written
         * through; the rename replaces a link in the entry's place instead of following it. */
        lc_write_file_atomic(dir, name, text, strlen(text));
    }
    if (text) sodium_memzero(text, strlen(text));
    free(text);
    free(dir);
}

licentia_error lc_escrow_forget(const lc_escrow *e) {
    char *path = entry_path(e);
    if (!path) return LICENTIA_OK; /* no configuration directory: nothing was kept */
    int rc = lc_remove_file(path);
    int missing = rc != 0 && errno == ENOENT;
    free(path);
    return rc == 0 || missing ? LICENTIA_OK : LICENTIA_E_IO;
}
