/* Raw hardware identifiers per operating system; an empty string means "not readable here". */
#ifndef LICENTIA_HARDWARE_H
#define LICENTIA_HARDWARE_H

#include "internal.h"

typedef struct {
    char machine[256];
    char disk[512];
    char cpu[1024];
    char mac[32];
} lc_raw_hardware;

/* Under root ("/" for the real system, a fake tree in tests). */
void lc_linux_hardware(const char *root, const char *data_dir, lc_raw_hardware *raw);
void lc_windows_hardware(const char *data_dir, lc_raw_hardware *raw);

#endif
