/*
 * The macOS and Windows readers' parsing, held to recorded outputs (tests/fixtures/) and to what the
 * Python SDK reads from them (tests/fixtures/expected.json, written by tests/fixtures/expected.py).
 * Runs on Linux: the commands and system calls themselves run only on their systems.
 */
#include <stdlib.h>
#include <string.h>

#include "hardware.h"
#include "harness.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

static char *fixture(const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = calloc(1, 1 << 16);
    if (text) fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    return text;
}

static int same(const json_t *want, const char *got) {
    return json_is_null(want) ? got[0] == '\0' : json_is_string(want) && !strcmp(json_string_value(want), got);
}

int main(void) {
    char path[1024], out[256];
    snprintf(path, sizeof path, "%s/expected.json", FIXTURES);
    json_t *expected = json_load_file(path, 0, NULL);
    CHECK(expected != NULL, "read %s", path);
    const char *name;
    json_t *want;
    size_t cases = 0;
    json_object_foreach(json_object_get(expected, "ioreg"), name, want) {
        snprintf(path, sizeof path, "macos/%s", name);
        char *text = fixture(path);
        int rc = lc_ioreg_platform_uuid(text, out, sizeof out);
        CHECK(text && same(want, out) && (rc == 0) == !json_is_null(want), "ioreg %s: '%s'", name, out);
        free(text), cases++;
    }
    json_object_foreach(json_object_get(expected, "ifconfig"), name, want) {
        snprintf(path, sizeof path, "macos/%s", name);
        char *text = fixture(path);
        lc_ifconfig_mac(text, out, sizeof out);
        CHECK(text && same(want, out), "ifconfig %s: '%s'", name, out);
        free(text), cases++;
    }
    json_object_foreach(json_object_get(expected, "windows_anchor"), name, want) {
        lc_windows_anchor(name, out, sizeof out);
        CHECK(same(want, out), "anchor of %s: '%s'", name, out);
        cases++;
    }
    CHECK(cases >= 10, "every fixture read: %zu", cases);
    /* uuid.getnode() leaves, once filtered as hardware/generic.py filters them. */
    CHECK(lc_ifconfig_mac("lo0: flags=8049\n", out, sizeof out) == -1 && !out[0], "no address: the next arguments are tried");
    CHECK(lc_ifconfig_mac("bridge0: x\n\tether 36:a1:7e:00:c4:01\n", out, sizeof out) == 1 && !out[0],
          "only a local address: none, and no other arguments tried");
    static const unsigned char card[6] = {0xf0, 0x18, 0x98, 0x3a, 0x7c, 0x2e}, random_node[6] = {0x4b, 1, 2, 3, 4, 5},
                               local[6] = {0x02, 0, 0x5e, 0x10, 0, 1};
    CHECK(lc_format_node(card, out, sizeof out) == 0 && !strcmp(out, "f0:18:98:3a:7c:2e"), "a card's node: %s", out);
    CHECK(lc_format_node(random_node, out, sizeof out) == -1 && !out[0], "a random (multicast) node");
    CHECK(lc_format_node(local, out, sizeof out) == -1 && !out[0], "a locally administered node");
    /* hardware/macos.py cpu_identity: platform.machine() | platform.processor(), the empty ones left out. */
    lc_join_cpu("arm64", "arm", out, sizeof out);
    CHECK(!strcmp(out, "arm64|arm"), "Apple silicon: %s", out);
    lc_join_cpu("x86_64", "i386", out, sizeof out);
    CHECK(!strcmp(out, "x86_64|i386"), "Intel: %s", out);
    lc_join_cpu("arm64", "", out, sizeof out);
    CHECK(!strcmp(out, "arm64"), "no processor: %s", out);
    lc_join_cpu(NULL, NULL, out, sizeof out);
    CHECK(!out[0], "nothing: ''");
    json_decref(expected);
    return REPORT("macOS and Windows readers");
}
