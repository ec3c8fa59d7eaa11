/*
 * The C client measured against the work an offline check cannot avoid (bench/clients_offline.py).
 * bench bare BENCH_DIR N | check DATA_DIR PRODUCT PUBLIC_KEY N | start DATA_DIR PRODUCT PUBLIC_KEY
 */
#include <dirent.h>
#include <fcntl.h>
#include <licentia.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The seconds per call (wall, CPU) of n calls, after n/2 to warm up. */
static void timed(const char *name, int n, void (*fn)(void)) {
    for (int i = 0; i < n / 2; i++) fn();
    double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID), wall = seconds(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) fn();
    printf("%s %g %g\n", name, (seconds(CLOCK_MONOTONIC) - wall) / n, (seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu) / n);
}

/* The whole file into buf (at most size bytes); its length, or -1. */
static long read_file(const char *path, unsigned char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t total = 0;
    ssize_t got;
    while (total < size && (got = read(fd, buf + total, size - total)) > 0) total += (size_t)got;
    close(fd);
    return (long)total;
}

static unsigned char body[65536], sig[64], pub[32], scratch[1 << 20];
static long body_len;
static char *paths[256];
static int npaths;

static void verify(void) {
    if (crypto_sign_verify_detached(sig, body, (unsigned long long)body_len, pub) != 0) abort();
}

static void unavoidable(void) {
    for (int i = 0; i < npaths; i++) {
        size_t len = strlen(paths[i]);
        if (paths[i][len - 1] == '/') {
            DIR *dir = opendir(paths[i]);
            if (dir == NULL) continue;
            while (readdir(dir) != NULL) {
            }
            closedir(dir);
        } else {
            read_file(paths[i], scratch, sizeof scratch);
        }
    }
    verify();
}

static void bare(const char *dir, int n) {
    char path[4096];
    static char list[65536];
    snprintf(path, sizeof path, "%s/body.bin", dir);
    body_len = read_file(path, body, sizeof body);
    snprintf(path, sizeof path, "%s/sig.bin", dir);
    read_file(path, sig, sizeof sig);
    snprintf(path, sizeof path, "%s/pub.bin", dir);
    read_file(path, pub, sizeof pub);
    snprintf(path, sizeof path, "%s/files.txt", dir);
    long len = read_file(path, (unsigned char *)list, sizeof list - 1);
    if (body_len < 0 || len < 0 || sodium_init() < 0) abort();
    list[len] = '\0';
    for (char *line = strtok(list, "\n"); line != NULL && npaths < 256; line = strtok(NULL, "\n")) paths[npaths++] = line;
    timed("verify", n, verify);
    timed("unavoidable", n, unavoidable);
}

static licentia *handle;

static void check(void) {
    licentia_status *status = NULL;
    if (licentia_check(handle, 0, &status) != LICENTIA_OK) abort();
    licentia_status_free(status);
}

int main(int argc, char **argv) {
    if (argc > 3 && strcmp(argv[1], "bare") == 0) {
        bare(argv[2], atoi(argv[3]));
        return 0;
    }
    if (argc < 5 || licentia_open(&handle, "http://127.0.0.1:9", argv[3], argv[4], argv[2]) != LICENTIA_OK) return 2;
    if (strcmp(argv[1], "check") == 0 && argc > 5) {
        timed("check", atoi(argv[5]), check);
    } else {
        licentia_status *status = NULL;
        if (licentia_check(handle, 0, &status) != LICENTIA_OK) return 3;
        printf("%s %s\n", licentia_status_allowed(status) ? "true" : "false", licentia_status_state(status));
        licentia_status_free(status);
    }
    licentia_close(handle);
    return 0;
}
