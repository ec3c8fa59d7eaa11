/* What differs between POSIX (Linux, macOS) and Windows: locks, clocks, paths, durable file writes. */
#ifndef LICENTIA_PLATFORM_H
#define LICENTIA_PLATFORM_H

#include <stddef.h>
#include <stdio.h>

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK lc_mutex;
#else
#include <pthread.h>
typedef pthread_mutex_t lc_mutex;
#endif

int lc_mutex_init(lc_mutex *m);
void lc_mutex_lock(lc_mutex *m);
void lc_mutex_unlock(lc_mutex *m);
void lc_mutex_destroy(lc_mutex *m);

/* Run fn once per process, whichever thread comes first. */
void lc_once(void (*fn)(void));

long long lc_monotonic_ms(void);
long long lc_realtime_ms(void);
void lc_os_description(char *out, size_t size);

/* The absolute form of a UTF-8 path, without trailing separators (malloc'd; NULL when out of memory). */
char *lc_absolute_path(const char *path);
/* fopen for reading with a UTF-8 path. */
FILE *lc_open_read(const char *path);
/*
 * Write dir/name whole or not at all: a temporary file readable by its owner
 * only, flushed to disk, renamed over the old file, the directory flushed.
 * The directory is created (owner only) when missing. 0 or -1.
 */
int lc_write_file_atomic(const char *dir, const char *name, const char *data, size_t len);

/* The names in a directory ending in suffix, sorted; *count 0 when it cannot be read. Free with lc_free_names. */
char **lc_list_dir(const char *dir, const char *suffix, size_t *count);
void lc_free_names(char **names, size_t count);
int lc_remove_file(const char *path);

#endif
