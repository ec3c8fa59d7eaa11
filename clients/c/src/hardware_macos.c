/*
 * macOS readers, as the Python SDK's hardware/macos.py reads them: IOPlatformUUID from `ioreg -rd1
 * -c IOPlatformExpertDevice`, the CPU as platform.machine() and `uname -p` (platform.processor()),
 * and the MAC as uuid.getnode() finds it there (`ifconfig`, then `-a`, `-av`). No disk component,
 * as in Python. Each command runs once per process (the hardware does not change under a running
 * application; a value kept on disk would travel with a copy of the data directory). The parsing is
 * in hardware_parse.c, tested with recorded outputs.
 */
#ifdef __APPLE__
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "hardware.h"
#include "platform.h"

#define MAX_OUTPUT (1 << 20)

static lc_raw_hardware found;

/* A command's standard output (LC_ALL=C, as Python runs them), malloc'd; NULL when it cannot run. */
static char *output_of(const char *command) {
    char line[512];
    snprintf(line, sizeof line, "LC_ALL=C %s 2>/dev/null", command);
    FILE *p = popen(line, "r");
    if (!p) return NULL;
    char *text = malloc(MAX_OUTPUT + 1);
    size_t n = text ? fread(text, 1, MAX_OUTPUT, p) : 0;
    pclose(p);
    if (text) text[n] = '\0';
    return text;
}

static void read_once(void) {
    char *text = output_of("/usr/sbin/ioreg -rd1 -c IOPlatformExpertDevice");
    if (text) lc_ioreg_platform_uuid(text, found.machine, sizeof found.machine);
    free(text);
    struct utsname u;
    char processor[256] = "";
    text = output_of("/usr/bin/uname -p");
    if (text) {
        size_t start = strspn(text, " \t\r\n"), len = strlen(text + start);
        while (len && strchr(" \t\r\n", text[start + len - 1])) len--;
        snprintf(processor, sizeof processor, "%.*s", (int)len, text + start);
    }
    free(text);
    lc_join_cpu(uname(&u) == 0 ? u.machine : "", processor, found.cpu, sizeof found.cpu);
    static const char *ifconfig[] = {"/sbin/ifconfig", "/sbin/ifconfig -a", "/sbin/ifconfig -av"};
    for (size_t i = 0; i < 3; i++) {
        text = output_of(ifconfig[i]);
        int rc = text ? lc_ifconfig_mac(text, found.mac, sizeof found.mac) : -1;
        free(text);
        if (rc >= 0) break; /* an address was found (kept or not): uuid.getnode() stops there */
    }
}

void lc_macos_hardware(lc_raw_hardware *raw) {
    lc_once(read_once);
    memcpy(raw->machine, found.machine, sizeof raw->machine);
    memcpy(raw->cpu, found.cpu, sizeof raw->cpu);
    memcpy(raw->mac, found.mac, sizeof raw->mac);
}
#endif
