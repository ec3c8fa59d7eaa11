/*
 * Servers for the tests, started in a temporary root and always reaped: a real `licentia serve`
 * (SQLite in the root) or the fake one of tests/fake_server.py; and fake machines for the clients.
 * One server per test program. Python: $LICENTIA_PYTHON, else the repository's venv, else python3.
 * XDG_CONFIG_HOME points at <root>/config, so the credential the library keeps outside its data
 * directory (src/escrow.c) never lands in the real home.
 */
#ifndef LICENTIA_TEST_SERVER_H
#define LICENTIA_TEST_SERVER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#ifndef FAKE_SERVER
#define FAKE_SERVER "tests/fake_server.py"
#endif

static pid_t server_pid = 0;
static char root[256], server_dir[300], config_dir[300], url[64], python[512];

static inline void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline void stop_server(void) {
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        for (int i = 0; i < 150 && waitpid(server_pid, NULL, WNOHANG) == 0; i++) sleep_ms(100);
        if (waitpid(server_pid, NULL, WNOHANG) == 0) {
            kill(server_pid, SIGKILL);
            waitpid(server_pid, NULL, 0);
        }
        server_pid = 0;
    }
    if (root[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
        root[0] = '\0';
    }
}

static inline void on_signal(int sig) {
    stop_server();
    _exit(128 + sig);
}

/* A socket listening on a free loopback port (which *port receives); it accepts and never answers. */
static inline int loopback_listener(int *port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t n = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 8);
    getsockname(s, (struct sockaddr *)&a, &n);
    *port = ntohs(a.sin_port);
    return s;
}

static inline int free_port(void) {
    int port;
    close(loopback_listener(&port));
    return port;
}

/*
 * Make the root, then run python with args (NULL-terminated; "{port}" and "{dir}" stand for the port and
 * <root>/server), logging to <root>/server.log, and wait for its /healthz. 0, or -1 when it did not start.
 */
static inline int start_python_server(const char *const *args) {
    const char *env_python = getenv("LICENTIA_PYTHON");
    snprintf(python, sizeof python, "%s", env_python ? env_python : (access(VENV_PYTHON, X_OK) == 0 ? VENV_PYTHON : "python3"));
    snprintf(root, sizeof root, "/tmp/licentia-c-XXXXXX");
    if (!mkdtemp(root)) return -1;
    atexit(stop_server);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    snprintf(server_dir, sizeof server_dir, "%s/server", root);
    if (mkdir(server_dir, 0700) != 0) return -1;
    snprintf(config_dir, sizeof config_dir, "%s/config", root);
    setenv("XDG_CONFIG_HOME", config_dir, 1);
    int port = free_port();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    char port_text[16], log[320];
    const char *argv[16];
    size_t n = 0;
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(log, sizeof log, "%s/server.log", root);
    argv[n++] = python;
    for (; *args && n < 15; args++)
        argv[n++] = !strcmp(*args, "{port}") ? port_text : !strcmp(*args, "{dir}") ? server_dir : *args;
    argv[n] = NULL;
    server_pid = fork();
    if (server_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1), dup2(fd, 2);
        setenv("LICENTIA_PRODUCT_CACHE_SECONDS", "0", 1);
        unsetenv("LICENTIA_DATABASE_URL");
        execvp(python, (char *const *)argv);
        _exit(127);
    }
    char health[100];
    snprintf(health, sizeof health, "%s/healthz", url);
    for (int i = 0; i < 300; i++) {
        if (waitpid(server_pid, NULL, WNOHANG) != 0) {
            server_pid = 0;
            char cmd[400];
            fprintf(stderr, "the server exited; its log:\n");
            snprintf(cmd, sizeof cmd, "cat '%s' >&2", log);
            if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
            return -1;
        }
        lc_buf answer = {0};
        long status = 0;
        licentia_error rc = lc_http(health, "GET", NULL, NULL, NULL, 1000, &status, &answer, NULL);
        lc_buf_free(&answer);
        if (rc == LICENTIA_OK && status == 200) return 0;
        sleep_ms(100);
    }
    return -1;
}

/* A real `licentia serve` on SQLite in <root>/server. */
static inline int start_server(void) {
    const char *args[] = {"-m", "licentia", "serve", "--data-dir", "{dir}", "--port", "{port}", "--workers", "1", NULL};
    return start_python_server(args);
}

/* The fake server of tests/fake_server.py; it writes the key it signs with to <root>/server/fake.pub. */
static inline int start_fake_server(void) {
    const char *args[] = {FAKE_SERVER, "{port}", "{dir}", NULL};
    return start_python_server(args);
}

/* `licentia license issue` through the server's CLI with extra `options`; the key, or "" on failure. */
static inline void issue_with(const char *options, char key[64]) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' -m licentia license issue --product my-app --email a@b.c %s --data-dir '%s'", python,
             options, server_dir);
    FILE *p = popen(cmd, "r");
    key[0] = '\0';
    if (!p) return;
    if (!fgets(key, 64, p)) key[0] = '\0';
    pclose(p);
    key[strcspn(key, "\r\n")] = '\0';
}

/* The same with a feature (or NULL). */
static inline void issue_key(const char *feature, char key[64]) {
    char options[200];
    snprintf(options, sizeof options, "%s%s", feature ? "--feature " : "", feature ? feature : "");
    issue_with(options, key);
}

static inline char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = calloc(1, 1 << 16);
    if (text) fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    return text;
}

/* The public key `licentia serve` wrote for the product my-app, in out (one line): 0, or -1 when unreadable. */
static inline int server_public_key(char *out, size_t size) {
    char path[600];
    snprintf(path, sizeof path, "%s/keys/my-app.pub", server_dir);
    char *text = read_file(path);
    if (!text) return -1;
    snprintf(out, size, "%s", text);
    out[strcspn(out, "\r\n")] = '\0';
    free(text);
    return 0;
}

static inline void write_file(const char *dir, const char *rel, const char *text) {
    char path[600], cmd[700];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A computer of its own: the disk serial and the network card follow the machine id, since the
 * server matches machines K of N (two fakes sharing both would be one machine to it). */
static inline void fake_machine(const char *dir, const char *machine_id) {
    char cmd[700], serial[32], mac[32];
    snprintf(serial, sizeof serial, "SN%.8s\n", machine_id);
    snprintf(mac, sizeof mac, "3c:52:%.2s:%.2s:%.2s:%.2s\n", machine_id, machine_id + 2, machine_id + 4, machine_id + 6);
    write_file(dir, "etc/machine-id", machine_id);
    write_file(dir, "proc/self/mountinfo", "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
    write_file(dir, "sys/block/sda/device/serial", serial);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/sys/block/sda/sda1' '%s/sys/class/net/eth0/device'", dir, dir);
    if (system(cmd) != 0) return;
    write_file(dir, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\nmodel name\t: i7\nstepping\t: 10\n");
    write_file(dir, "sys/class/net/eth0/address", mac);
    write_file(dir, "sys/class/net/eth0/addr_assign_type", "0\n");
}

#endif
