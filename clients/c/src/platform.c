/* POSIX and Windows implementations of platform.h. */
#include "platform.h"
#include "hardware.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void lc_free_names(char **names, size_t count) {
    for (size_t i = 0; names && i < count; i++) free(names[i]);
    free(names);
}

static int ends_with(const char *name, const char *suffix) {
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && strcmp(name + n - m, suffix) == 0;
}

/* Append a copy of name; -1 when out of memory. */
static int push_name(char ***names, size_t *count, size_t *cap, const char *name) {
    if (*count == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        char **grown = realloc(*names, grown_cap * sizeof *grown);
        if (!grown) return -1;
        *names = grown, *cap = grown_cap;
    }
    if (!((*names)[*count] = strdup(name))) return -1;
    (*count)++;
    return 0;
}

#ifdef _WIN32

#include <shlobj.h>

int lc_mutex_init(lc_mutex *m) {
    InitializeSRWLock(m);
    return 0;
}
void lc_mutex_lock(lc_mutex *m) { AcquireSRWLockExclusive(m); }
void lc_mutex_unlock(lc_mutex *m) { ReleaseSRWLockExclusive(m); }
void lc_mutex_destroy(lc_mutex *m) { (void)m; }

static INIT_ONCE once_state = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK run_once(PINIT_ONCE once, PVOID fn, PVOID *context) {
    (void)once, (void)context;
    ((void (*)(void))fn)();
    return TRUE;
}
void lc_once(void (*fn)(void)) { InitOnceExecuteOnce(&once_state, run_once, (PVOID)fn, NULL); }

long long lc_monotonic_ms(void) { return (long long)GetTickCount64(); }

long long lc_realtime_ms(void) {
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    unsigned long long t = ((unsigned long long)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (long long)(t / 10000ULL) - 11644473600000LL; /* 100 ns ticks since 1601 -> ms since 1970 */
}

void lc_os_description(char *out, size_t size) {
    /* GetVersionEx lies to unmanifested programs; RtlGetVersion does not. */
    typedef LONG(WINAPI * rtl_get_version)(OSVERSIONINFOW *);
    OSVERSIONINFOW v = {0};
    v.dwOSVersionInfoSize = sizeof v;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    rtl_get_version get = ntdll ? (rtl_get_version)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion") : NULL;
    if (get && get(&v) == 0)
        snprintf(out, size, "Windows %lu.%lu.%lu", v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber);
    else
        snprintf(out, size, "Windows");
}

static wchar_t *wide(const char *utf8) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

static char *narrow(const wchar_t *w) {
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
    }
    return s;
}

char *lc_absolute_path(const char *path) {
    /* Python's Path(path).absolute(): joined to the working directory, never resolved (".." kept), so
     * the data path hash is the other SDKs' for the same folder. */
    DWORD n = GetCurrentDirectoryW(0, NULL);
    wchar_t *wcwd = n ? malloc(n * sizeof *wcwd) : NULL;
    char *cwd = wcwd && GetCurrentDirectoryW(n, wcwd) < n ? narrow(wcwd) : NULL;
    char *out = lc_windows_absolute(cwd ? cwd : "C:\\", path);
    free(wcwd), free(cwd);
    return out;
}

FILE *lc_open_read(const char *path) {
    wchar_t *w = wide(path);
    FILE *f = w ? _wfopen(w, L"rb") : NULL;
    free(w);
    return f;
}

char *lc_read_small_file(const char *path, size_t max, size_t *len) {
    wchar_t *w = wide(path);
    /* FILE_FLAG_OPEN_REPARSE_POINT: a symbolic link or junction is opened as itself, then refused below. */
    HANDLE fh = w ? CreateFileW(w, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL)
                  : INVALID_HANDLE_VALUE;
    free(w);
    if (fh == INVALID_HANDLE_VALUE) return NULL;
    BY_HANDLE_FILE_INFORMATION info;
    char *text = NULL;
    DWORD got = 0;
    if (GetFileInformationByHandle(fh, &info) && GetFileType(fh) == FILE_TYPE_DISK &&
        !(info.dwFileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) && max < 0x7FFFFFFFu &&
        (text = malloc(max + 2)) && ReadFile(fh, text, (DWORD)max + 1, &got, NULL) && got <= max) {
        text[got] = '\0';
        *len = got;
    } else {
        free(text);
        text = NULL;
    }
    CloseHandle(fh);
    return text;
}

char *lc_user_config_dir(const char *app) {
    /* FOLDERID_LocalAppData, spelled out: the GUID libraries of every MinGW and MSVC agree on */
    static const GUID local_app_data = {0xF1B32785, 0x6FBA, 0x4FCF, {0x9D, 0x55, 0x7B, 0x8E, 0x7F, 0x15, 0x70, 0x91}};
    PWSTR found = NULL;
    char *base = NULL;
    if (SHGetKnownFolderPath(&local_app_data, KF_FLAG_DONT_VERIFY, NULL, &found) == S_OK && found) base = narrow(found);
    CoTaskMemFree(found);
    wchar_t env[MAX_PATH + 1];
    DWORD n_env = base ? 0 : GetEnvironmentVariableW(L"LOCALAPPDATA", env, MAX_PATH + 1);
    if (n_env > 0 && n_env <= MAX_PATH) base = narrow(env);
    if (!base) return NULL;
    size_t len = strlen(base), n = len + strlen(app) + 2;
    while (len > 3 && (base[len - 1] == '\\' || base[len - 1] == '/')) base[--len] = '\0';
    char *dir = malloc(n);
    if (dir) snprintf(dir, n, "%s\\%s", base, app);
    free(base);
    return dir;
}

static int make_dirs(wchar_t *path) {
    for (wchar_t *p = path; *p; p++) {
        if ((*p != L'\\' && *p != L'/') || p == path || p[-1] == L':') continue;
        wchar_t keep = *p;
        *p = L'\0';
        BOOL ok = CreateDirectoryW(path, NULL) || GetLastError() == ERROR_ALREADY_EXISTS;
        *p = keep;
        if (!ok) return -1;
    }
    return CreateDirectoryW(path, NULL) || GetLastError() == ERROR_ALREADY_EXISTS ? 0 : -1;
}

int lc_write_file_atomic(const char *dir, const char *name, const char *data, size_t len) {
    size_t n = strlen(dir) + strlen(name) + 32;
    char *tmp = malloc(n), *target = malloc(n);
    wchar_t *wdir = wide(dir), *wtmp = NULL, *wtarget = NULL;
    int rc = -1;
    if (!tmp || !target || !wdir || make_dirs(wdir) != 0) goto done;
    snprintf(tmp, n, "%s\\.%s-%08lx.tmp", dir, name, (unsigned long)GetCurrentProcessId() ^ GetTickCount());
    snprintf(target, n, "%s\\%s", dir, name);
    if (!(wtmp = wide(tmp)) || !(wtarget = wide(target))) goto done;
    /* The file inherits the data directory's ACL: under the user's profile, the user's alone. */
    HANDLE fh = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    if (fh == INVALID_HANDLE_VALUE) goto done;
    DWORD written = 0;
    BOOL ok = len <= 0xFFFFFFFFu && WriteFile(fh, data, (DWORD)len, &written, NULL) && written == len && FlushFileBuffers(fh);
    CloseHandle(fh);
    if (ok && MoveFileExW(wtmp, wtarget, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) rc = 0;
    else DeleteFileW(wtmp);
done:
    free(tmp), free(target), free(wdir), free(wtmp), free(wtarget);
    return rc;
}

char **lc_list_dir(const char *dir, const char *suffix, size_t *count) {
    size_t n = strlen(dir) + 3, cap = 0;
    char *pattern = malloc(n), **names = NULL;
    wchar_t *wpattern = NULL;
    WIN32_FIND_DATAW found;
    *count = 0;
    if (!pattern) return NULL;
    snprintf(pattern, n, "%s\\*", dir);
    wpattern = wide(pattern);
    free(pattern);
    HANDLE search = wpattern ? FindFirstFileW(wpattern, &found) : INVALID_HANDLE_VALUE;
    free(wpattern);
    if (search == INVALID_HANDLE_VALUE) return NULL;
    do {
        char *name = narrow(found.cFileName);
        int ok = !name || name[0] == '.' || !ends_with(name, suffix) || push_name(&names, count, &cap, name) == 0;
        free(name);
        if (!ok) break;
    } while (FindNextFileW(search, &found));
    FindClose(search);
    if (names) qsort(names, *count, sizeof *names, by_name);
    return names;
}

int lc_remove_file(const char *path) {
    wchar_t *w = wide(path);
    int rc = w && DeleteFileW(w) ? 0 : -1;
    if (rc != 0) {
        DWORD why = w ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
        errno = why == ERROR_FILE_NOT_FOUND || why == ERROR_PATH_NOT_FOUND ? ENOENT : EACCES; /* as unlink says it */
    }
    free(w);
    return rc;
}

#else /* POSIX */

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int lc_mutex_init(lc_mutex *m) { return pthread_mutex_init(m, NULL) == 0 ? 0 : -1; }
void lc_mutex_lock(lc_mutex *m) { pthread_mutex_lock(m); }
void lc_mutex_unlock(lc_mutex *m) { pthread_mutex_unlock(m); }
void lc_mutex_destroy(lc_mutex *m) { pthread_mutex_destroy(m); }

static pthread_once_t once_state = PTHREAD_ONCE_INIT;
static void (*once_fn)(void);
static void run_once(void) { once_fn(); }
void lc_once(void (*fn)(void)) {
    once_fn = fn; /* one caller in the library, always the same function */
    pthread_once(&once_state, run_once);
}

static long long clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
long long lc_monotonic_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
long long lc_realtime_ms(void) { return clock_ms(CLOCK_REALTIME); }

void lc_os_description(char *out, size_t size) {
    struct utsname u;
    if (uname(&u) == 0) snprintf(out, size, "%s %s", u.sysname, u.release);
    else snprintf(out, size, "unknown");
}

char *lc_absolute_path(const char *path) {
    char cwd[4096] = "/";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "/");
    return lc_posix_absolute(cwd, path); /* the text the other SDKs hash: Python's Path.absolute() */
}

FILE *lc_open_read(const char *path) { return fopen(path, "rb"); }

char *lc_read_small_file(const char *path, size_t max, size_t *len) {
    /* O_NONBLOCK: a FIFO planted in the file's place must not hang the caller; fstat then refuses it. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    char *text = NULL;
    size_t got = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (text = malloc(max + 2))) {
        while (got <= max) {
            ssize_t r = read(fd, text + got, max + 1 - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
    }
    close(fd);
    if (text && got > max) {
        free(text);
        return NULL;
    }
    if (text) text[got] = '\0', *len = got;
    return text;
}

/* $HOME when it is absolute, else the account's home directory (as Python's expanduser), into out. */
static int home_dir(char *out, size_t size) {
    const char *home = getenv("HOME");
    if (home && home[0] == '/') return snprintf(out, size, "%s", home) < (int)size ? 0 : -1;
    struct passwd pw, *found = NULL;
    char buf[16384];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) != 0 || !found || !pw.pw_dir || pw.pw_dir[0] != '/') return -1;
    return snprintf(out, size, "%s", pw.pw_dir) < (int)size ? 0 : -1;
}

char *lc_user_config_dir(const char *app) {
    char base[4096];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/') {
        if (snprintf(base, sizeof base, "%s", xdg) >= (int)sizeof base) return NULL;
    } else {
        char home[4096];
        if (home_dir(home, sizeof home) != 0) return NULL;
        size_t len = strlen(home);
        while (len > 0 && home[len - 1] == '/') home[--len] = '\0';
#ifdef __APPLE__
        if (snprintf(base, sizeof base, "%s/Library/Application Support", home) >= (int)sizeof base) return NULL;
#else
        if (snprintf(base, sizeof base, "%s/.config", home) >= (int)sizeof base) return NULL;
#endif
    }
    size_t len = strlen(base), n = len + strlen(app) + 2;
    while (len > 0 && base[len - 1] == '/') base[--len] = '\0';
    char *dir = malloc(n);
    if (dir) snprintf(dir, n, "%s/%s", base, app);
    return dir;
}

static int make_dirs(const char *dir) {
    char *path = strdup(dir);
    int rc = path ? 0 : -1;
    for (char *p = path ? path + 1 : NULL; p && *p && rc == 0; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) rc = -1;
        *p = '/';
    }
    if (rc == 0 && mkdir(path, 0700) != 0 && errno != EEXIST) rc = -1;
    free(path);
    return rc;
}

int lc_write_file_atomic(const char *dir, const char *name, const char *data, size_t len) {
    size_t n = strlen(dir) + strlen(name) + 16;
    char *tmp = malloc(n), *path = malloc(n);
    int rc = -1, fd = -1;
    if (!tmp || !path || make_dirs(dir) != 0) goto done;
    snprintf(tmp, n, "%s/.%s-XXXXXX", dir, name);
    snprintf(path, n, "%s/%s", dir, name);
    if ((fd = mkstemp(tmp)) < 0) goto done; /* mode 0600 */
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int ok = done == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        goto done;
    }
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives power loss */
        close(dfd);
    }
    rc = 0;
done:
    free(tmp), free(path);
    return rc;
}

char **lc_list_dir(const char *dir, const char *suffix, size_t *count) {
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    DIR *d = opendir(dir);
    *count = 0;
    if (!d) return NULL;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && ends_with(e->d_name, suffix) && push_name(&names, count, &cap, e->d_name) != 0) break;
    closedir(d);
    if (names) qsort(names, *count, sizeof *names, by_name);
    return names;
}

int lc_remove_file(const char *path) { return unlink(path) == 0 ? 0 : -1; }

#endif
