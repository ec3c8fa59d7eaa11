/* What differs between POSIX (Linux, macOS) and Windows: locks, clocks, paths, durable file writes. */
#ifndef LICENTIA_PLATFORM_H
#define LICENTIA_PLATFORM_H

#include <stddef.h>
#include <stdio.h>

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK lc_mutex;
#define LC_PATH_SEP "\\"
#else
#include <pthread.h>
typedef pthread_mutex_t lc_mutex;
#define LC_PATH_SEP "/"
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
 * A small regular file read whole, never through a symbolic link (or a FIFO, a device, a directory):
 * malloc'd and NUL-terminated, *len its size; NULL when missing, of another kind or longer than max.
 */
char *lc_read_small_file(const char *path, size_t max, size_t *len);
/*
 * The user's configuration directory for app, where Python's platformdirs.user_config_dir(app,
 * appauthor=False) puts it, so the SDKs share what they keep there: $XDG_CONFIG_HOME/app (when
 * absolute) else ~/.config/app on Linux, ~/Library/Application Support/app on macOS (where
 * platformdirs honours XDG_CONFIG_HOME too), %LOCALAPPDATA%\app on Windows. Malloc'd; NULL when the
 * home directory cannot be known. Nothing is created.
 */
char *lc_user_config_dir(const char *app);
/*
 * Write dir/name whole or not at all: a temporary file readable by its owner
 * only, flushed to disk, renamed over the old file, the directory flushed.
 * The directory is created (owner only) when missing. 0 or -1.
 */
int lc_write_file_atomic(const char *dir, const char *name, const char *data, size_t len);

/* The names in a directory ending in suffix, sorted; *count 0 when it cannot be read. Free with lc_free_names. */
char **lc_list_dir(const char *dir, const char *suffix, size_t *count);
void lc_free_names(char **names, size_t count);
/* 0, or -1 with errno ENOENT when there is no such file (another errno when it stays). */
int lc_remove_file(const char *path);

#endif
