/* The C library against a real `licentia serve` (SQLite in a temporary data dir), started and always reaped here. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "http.h"
#include "licentia.h"

static pid_t server_pid = 0;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
static char root[256], server_dir[300], url[64], python[512];

static void stop_server(void) {
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

static void on_signal(int sig) {
    stop_server();
    _exit(128 + sig);
}

/* A socket listening on a free loopback port (which *port receives); it accepts and never answers. */
static int loopback_listener(int *port) {
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

static int free_port(void) {
    int port;
    close(loopback_listener(&port));
    return port;
}

static int start_server(void) {
    const char *env_python = getenv("LICENTIA_PYTHON");
    snprintf(python, sizeof python, "%s", env_python ? env_python : (access(VENV_PYTHON, X_OK) == 0 ? VENV_PYTHON : "python3"));
    snprintf(root, sizeof root, "/tmp/licentia-c-XXXXXX");
    if (!mkdtemp(root)) return -1;
    snprintf(server_dir, sizeof server_dir, "%s/server", root);
    int port = free_port();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    char port_text[16], log[320];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(log, sizeof log, "%s/server.log", root);
    server_pid = fork();
    if (server_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1), dup2(fd, 2);
        setenv("LICENTIA_PRODUCT_CACHE_SECONDS", "0", 1);
        unsetenv("LICENTIA_DATABASE_URL");
        execlp(python, python, "-m", "licentia", "serve", "--data-dir", server_dir, "--port", port_text, "--workers", "1", (char *)NULL);
        _exit(127);
    }
    char health[100];
    snprintf(health, sizeof health, "%s/healthz", url);
    for (int i = 0; i < 300; i++) {
        if (waitpid(server_pid, NULL, WNOHANG) != 0) {
            server_pid = 0;
            fprintf(stderr, "server exited; see its log\n");
            return -1;
        }
        lc_buf answer = {0};
        long status = 0;
        licentia_error rc = lc_http(health, "GET", NULL, NULL, NULL, 1000, &status, &answer);
        lc_buf_free(&answer);
        if (rc == LICENTIA_OK && status == 200) return 0;
        sleep_ms(100);
    }
    return -1;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = calloc(1, 1 << 16);
    if (text) fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    return text;
}

static void write_file(const char *dir, const char *rel, const char *text) {
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
static void fake_machine(const char *dir, const char *machine_id) {
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

/* `licentia license issue` through the server's CLI; the key, or "" on failure. */
static void issue_key(const char *feature, char key[64]) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' -m licentia license issue --product my-app --email a@b.c %s%s --data-dir '%s'", python,
             feature ? "--feature " : "", feature ? feature : "", server_dir);
    FILE *p = popen(cmd, "r");
    key[0] = '\0';
    if (!p) return;
    if (!fgets(key, 64, p)) key[0] = '\0';
    pclose(p);
    key[strcspn(key, "\r\n")] = '\0';
}

/* How many events of this kind the server stored (through `licentia export`). */
static int server_events(const char *kind) {
    char cmd[1200], line[4096], needle[64];
    int n = 0;
    snprintf(cmd, sizeof cmd, "'%s' -m licentia export --format json --product my-app --data-dir '%s'", python, server_dir);
    snprintf(needle, sizeof needle, "\"kind\": \"%s\"", kind);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    while (fgets(line, sizeof line, p)) {
        char compact[64];
        snprintf(compact, sizeof compact, "\"kind\":\"%s\"", kind);
        if (strstr(line, needle) || strstr(line, compact)) n++;
    }
    pclose(p);
    return n;
}

static licentia *open_app(const char *server, const char *keys, const char *name, const char *machine) {
    char data[400];
    licentia *h = NULL;
    snprintf(data, sizeof data, "%s/%s", root, name);
    if (licentia_open(&h, server, "my-app", keys, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, machine);
    licentia_set_option(h, LICENTIA_OPT_APP_VERSION, "1.4.0");
    return h;
}

static void *check_in_thread(void *arg) {
    licentia_status *st = NULL;
    long ok = licentia_check(arg, 1, &st) == LICENTIA_OK && licentia_status_allowed(st);
    licentia_status_free(st);
    return (void *)ok;
}

int main(void) {
    atexit(stop_server);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    char path[600], machine[400], machine2[400], key[64], refusal[101];
    snprintf(path, sizeof path, "%s/keys/my-app.pub", server_dir);
    char *pub = read_file(path);
    CHECK(pub != NULL, "public key file %s", path);
    snprintf(machine, sizeof machine, "%s/machine", root);
    snprintf(machine2, sizeof machine2, "%s/machine2", root);
    fake_machine(machine, "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59");
    fake_machine(machine2, "0123456789abcdef0123456789abcdef");
    write_file(machine2, "sys/block/sda/device/serial", "OTHERDISK\n"); /* a second part differs: another machine */
    licentia_status *st = NULL;

    /* Bad arguments are refused before anything happens. */
    licentia *bad = NULL;
    CHECK(licentia_open(&bad, url, "my-app", "ed25519:nope", "/tmp/x") == LICENTIA_E_ARGUMENT && !bad, "bad key");
    CHECK(licentia_open(&bad, "ftp://x", "my-app", pub, "/tmp/x") == LICENTIA_E_ARGUMENT, "bad url");
    CHECK(licentia_open(&bad, url, "My App", pub, "/tmp/x") == LICENTIA_E_ARGUMENT, "bad slug");

    /* First contact: a trial, online, with a sealed 0600 state. */
    licentia *app = open_app(url, pub, "data", machine);
    CHECK(app && licentia_check(app, 1, &st) == LICENTIA_OK, "first check");
    CHECK(licentia_status_allowed(st) && !strcmp(licentia_status_state(st), "trial") && licentia_status_online(st) &&
              licentia_status_device(st) && licentia_status_days_left(st) > 0,
          "trial online: %s", licentia_status_state(st));
    char *device = licentia_status_device(st) ? strdup(licentia_status_device(st)) : NULL;
    licentia_status_free(st);
    struct stat sb;
    snprintf(path, sizeof path, "%s/data/state.json", root);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "state.json is 0600");
    char *state_text = read_file(path);
    CHECK(state_text && strstr(state_text, "\"format\":2") && strstr(state_text, "\"mac\":"), "sealed state");

    /* The same installation next time; offline, the stored document with the hardware read afresh. */
    CHECK(licentia_check(app, 1, &st) == LICENTIA_OK && device && licentia_status_device(st) &&
              !strcmp(device, licentia_status_device(st)), "same device");
    licentia_status_free(st);
    CHECK(licentia_check(app, 0, &st) == LICENTIA_OK && licentia_status_allowed(st) && !licentia_status_online(st), "offline");
    licentia_status_free(st);

    /* Threads sharing one handle. */
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, check_in_thread, app);
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(threads[i], &ok);
        CHECK(ok == (void *)1, "thread %d", i);
    }

    /* Events: the install report went with the first check; one queued while the server is unreachable waits on disk. */
    size_t remaining = 99;
    CHECK(licentia_flush(app, &remaining) == LICENTIA_OK && remaining == 0, "queue empty after checks: %zu", remaining);
    CHECK(server_events("install") == 1, "one install event stored: %d", server_events("install"));
    licentia *offline_app = open_app("http://127.0.0.1:9", pub, "data", machine);
    licentia_set_option(offline_app, LICENTIA_OPT_TIMEOUT_MS, "300");
    CHECK(licentia_uninstall(offline_app) == LICENTIA_OK, "uninstall queued");
    CHECK(licentia_flush(offline_app, &remaining) == LICENTIA_OK && remaining == 1, "kept while offline: %zu", remaining);
    licentia_close(offline_app);
    CHECK(licentia_feedback(app, "Love it", "me@example.com") == LICENTIA_OK, "feedback");
    CHECK(licentia_flush(app, &remaining) == LICENTIA_OK && remaining == 0, "sent once the server answers: %zu", remaining);
    CHECK(server_events("uninstall") == 1, "uninstall stored once");

    /* Values and releases. */
    char *json = NULL;
    CHECK(licentia_value_get(app, "theme", NULL, &json) == LICENTIA_E_REFUSED && !json, "no value yet");
    licentia_last_refusal(app, refusal, sizeof refusal);
    CHECK(!strcmp(refusal, "unknown_value"), "unknown_value: %s", refusal);
    CHECK(licentia_value_set(app, "theme", "license", "{\"dark\": true}") == LICENTIA_E_REFUSED, "license scope without a license");
    CHECK(licentia_value_set(app, "theme", NULL, "{\"dark\": true}") == LICENTIA_OK, "set");
    CHECK(licentia_value_get(app, "theme", "device", &json) == LICENTIA_OK && json && !strcmp(json, "{\"dark\":true}"), "get: %s",
          json ? json : "-");
    licentia_free(json);
    CHECK(licentia_value_set(app, "theme", NULL, "not json") == LICENTIA_E_ARGUMENT, "bad JSON refused before sending");
    CHECK(licentia_value_set(app, "a/b ü", NULL, "1") == LICENTIA_E_REFUSED, "a key the server refuses (escaped, not injected)");
    json = NULL;
    CHECK(licentia_latest_release(app, &json) == LICENTIA_OK && !json, "no release published");

    /* An unreachable server: the stored document answers. */
    licentia *down = open_app("http://127.0.0.1:9", pub, "data", machine);
    licentia_set_option(down, LICENTIA_OPT_TIMEOUT_MS, "300");
    CHECK(licentia_check(down, 1, &st) == LICENTIA_OK && licentia_status_allowed(st) && !licentia_status_online(st), "fallback");
    licentia_status_free(st);

    /* A server that accepts and never answers: the whole call ends at the deadline, then the stored document answers. */
    int silent_port, silent = loopback_listener(&silent_port);
    char silent_url[64];
    snprintf(silent_url, sizeof silent_url, "http://127.0.0.1:%d", silent_port);
    licentia *slow = open_app(silent_url, pub, "data", machine);
    licentia_set_option(slow, LICENTIA_OPT_TIMEOUT_MS, "400");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(licentia_check(slow, 1, &st) == LICENTIA_OK && licentia_status_allowed(st) && !licentia_status_online(st), "silent server");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(waited < 1500, "the deadline held: %ld ms", waited);
    licentia_status_free(st);
    licentia_close(slow);
    close(silent);

    /* Another machine (two parts differ) is not this installation. */
    licentia_set_option(down, LICENTIA_OPT_FINGERPRINT_ROOT, machine2);
    CHECK(licentia_check(down, 0, &st) == LICENTIA_OK && !licentia_status_allowed(st) &&
              !strcmp(licentia_status_reason(st), "invalid_document"), "other machine");
    licentia_status_free(st);

    /* A clock wound back is noticed. */
    licentia_set_option(down, LICENTIA_OPT_FINGERPRINT_ROOT, machine);
    licentia_set_option(down, LICENTIA_OPT_NOW, "2020-01-01T00:00:00Z");
    CHECK(licentia_check(down, 0, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "clock_rollback"), "rollback");
    licentia_status_free(st);
    licentia_close(down);

    /* Activation: a typo is caught offline, an unissued key is refused, an issued key registers with its feature. */
    licentia_error rc;
    issue_key("pro", key);
    CHECK(strlen(key) == 29, "issued key '%s'", key);
    char typo[64], unknown[64];
    snprintf(typo, sizeof typo, "%s", key);
    typo[0] = typo[0] == 'A' ? 'B' : 'A';
    CHECK(licentia_activate(app, typo, &st) == LICENTIA_E_INVALID_KEY && !st, "typo");
    /* the typo's body with its own check character: well formed, never issued */
    const char *alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    snprintf(unknown, sizeof unknown, "%s", typo);
    for (const char *c = alphabet; *c; c++) {
        unknown[28] = *c;
        if (licentia_normalize_key(unknown, NULL) == LICENTIA_OK) break;
    }
    rc = licentia_activate(app, unknown, &st);
    licentia_last_refusal(app, refusal, sizeof refusal);
    CHECK(rc == LICENTIA_E_REFUSED && !strcmp(refusal, "invalid_key") && !st, "unknown key: rc %d %s", rc, refusal);
    rc = licentia_activate(app, key, &st);
    CHECK(rc == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered") && licentia_status_has_feature(st, "pro") &&
              licentia_status_feature_count(st) >= 1 && !strcmp(licentia_status_feature(st, 0), "pro"),
          "activate: rc %d %s", rc, st ? licentia_status_state(st) : "-");
    licentia_status_free(st);
    CHECK(licentia_check(app, 0, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered"), "registered offline");
    licentia_status_free(st);
    CHECK(licentia_check(app, 1, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered"), "registered online");
    licentia_status_free(st);
    CHECK(server_events("usage") == 1, "a registered check reports usage once a period: %d", server_events("usage"));
    CHECK(licentia_check(app, 1, &st) == LICENTIA_OK && server_events("usage") == 1, "not twice in one period");
    licentia_status_free(st);
    CHECK(licentia_deactivate(app, &st) == LICENTIA_OK && strcmp(licentia_status_state(st), "registered") != 0, "deactivate");
    licentia_status_free(st);

    /* An edited state file grants nothing. */
    if (state_text) {
        char *mac = strstr(state_text, "\"mac\":\"");
        FILE *f = fopen(path, "w");
        if (mac && f) {
            mac[7] = mac[7] == 'a' ? 'b' : 'a';
            fputs(state_text, f);
        }
        if (f) fclose(f);
    }
    CHECK(licentia_check(app, 0, &st) == LICENTIA_OK && !licentia_status_allowed(st) &&
              !strcmp(licentia_status_reason(st), "corrupt_state"), "edited state: %s", licentia_status_reason(st));
    licentia_status_free(st);

    /* The stored document is the offline license file: verifiable on its own. */
    char *doc = NULL;
    CHECK(licentia_verify_document("{}", 2, pub, "my-app", LICENTIA_NO_TIME, &doc) == LICENTIA_E_INVALID_DOCUMENT && !doc, "{}");

    licentia_close(app);
    free(state_text);
    free(device);
    free(pub);
    stop_server();
    return REPORT("real server");
}
