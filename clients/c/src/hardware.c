/*
 * This installation's fingerprint: each raw identifier hashed with the
 * product (HMAC-SHA256), so raw values never leave the machine, plus the
 * hashed data path. Same components and value forms as the other SDKs.
 */
#include <stdio.h>
#include <string.h>

#include "hardware.h"

static void add(lc_fingerprint *fp, const char *product, const char *name, const char *raw) {
    if (!raw[0]) return;
    lc_component *c = &fp->items[fp->count++];
    snprintf(c->name, sizeof c->name, "%s", name);
    lc_component_hash(product, name, raw, strlen(raw), c->value);
}

void lc_read_fingerprint(const char *product, const char *root, const char *data_dir, lc_fingerprint *out) {
    lc_raw_hardware raw;
    memset(out, 0, sizeof *out);
    memset(&raw, 0, sizeof raw);
    /* A fake tree (tests) is a Linux tree, read by the Linux readers, as in Python. */
#ifdef _WIN32
    if (!root) lc_windows_hardware(data_dir, &raw); /* the Linux readers are not built here */
#elif defined(__APPLE__)
    if (root) lc_linux_hardware(root, data_dir, &raw);
    else lc_macos_hardware(&raw);
#else
    lc_linux_hardware(root ? root : "", data_dir, &raw);
#endif
    add(out, product, "machine", raw.machine);
    add(out, product, "disk", raw.disk);
    add(out, product, "cpu", raw.cpu);
    add(out, product, "mac", raw.mac);
    lc_component_hash(product, "data_path", data_dir, strlen(data_dir), out->data_path);
}
