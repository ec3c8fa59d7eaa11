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
/* macOS: ioreg, ifconfig and uname, each run once per process (hardware_macos.c). */
void lc_macos_hardware(lc_raw_hardware *raw);

/* Pure parsers (hardware_parse.c), held to recorded outputs: 0, or -1 and out "" (lc_ifconfig_mac: 1 when
 * it found only addresses it does not keep). */
int lc_ioreg_platform_uuid(const char *ioreg_output, char *out, size_t size);
int lc_ifconfig_mac(const char *ifconfig_output, char *out, size_t size);
int lc_format_node(const unsigned char node[6], char *out, size_t size);
void lc_join_cpu(const char *machine, const char *processor, char *out, size_t size);
void lc_windows_anchor(const char *path, char *out, size_t size);
/* What the Windows calls answered (tests: recorded), and the raw values hardware/windows.py makes of them. */
typedef struct {
    const char *machine_guid, *cpu[3]; /* NULL: absent */
    unsigned long long volume_serial;   /* 0: the call failed */
    const char *machine, *processor;    /* platform.machine(), platform.processor() */
    unsigned long long node;            /* uuid.getnode() */
    const char *data_dir, *cwd;
} lc_windows_recorded;
void lc_windows_raw(const lc_windows_recorded *recorded, lc_raw_hardware *raw, char *volume, size_t volume_size);
/* The text Python's Path(path).absolute() gives on POSIX with working directory cwd (malloc'd, NULL: out of memory). */
char *lc_posix_absolute(const char *cwd, const char *path);
/* The same on Windows (drives, shares, "/" as "\\"). */
char *lc_windows_absolute(const char *cwd, const char *path);

#endif
