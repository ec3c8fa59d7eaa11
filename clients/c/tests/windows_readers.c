/* The Windows readers alone, linked for Windows by `make check-windows` (run it there: it prints the raw values). */
#include <stdio.h>
#include <string.h>

#include "hardware.h"

int main(int argc, char **argv) {
    lc_raw_hardware raw;
    memset(&raw, 0, sizeof raw);
    lc_windows_hardware(argc > 1 ? argv[1] : "C:\\", &raw);
    printf("machine %s\ndisk %s\ncpu %s\nmac %s\n", raw.machine, raw.disk, raw.cpu, raw.mac);
    return raw.machine[0] ? 0 : 1;
}
