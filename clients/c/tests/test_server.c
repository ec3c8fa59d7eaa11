/* The C library against a real `licentia serve` (SQLite in a temporary data dir), started and always reaped here. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "licentia.h"
#include "server.h"

/* The stored document's nonce (copied into out, "" when none) and the state's clock offset, read from state.json. */
static void stored_answer(const char *path, char out[64], long long *offset) {
    json_t *outer = json_load_file(path, 0, NULL);
    const json_t *body = json_object_get(outer, "state");
    json_t *fields = json_is_string(body) ? json_loads(json_string_value(body), 0, NULL) : NULL;
    const json_t *nonce = json_object_get(json_object_get(json_object_get(fields, "signed"), "document"), "nonce");
    const json_t *kept = json_object_get(fields, "clock_offset");
    snprintf(out, 64, "%s", json_is_string(nonce) ? json_string_value(nonce) : "");
    *offset = json_is_integer(kept) ? json_integer_value(kept) : 99999;
    json_decref(fields);
    json_decref(outer);
}

static int is_nonce(const char *text) {
    return strlen(text) == 22 && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 22;
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
    CHECK(!licentia_status_unsaved(st), "kept in the data directory");
    char *device = licentia_status_device(st) ? strdup(licentia_status_device(st)) : NULL;
    licentia_status_free(st);
    struct stat sb;
    snprintf(path, sizeof path, "%s/data/state.json", root);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "state.json is 0600");
    char *state_text = read_file(path);
    CHECK(state_text && strstr(state_text, "\"format\":2") && strstr(state_text, "\"mac\":"), "sealed state");
    /* The answer to this request: the server signed back the request's fresh nonce; the clocks agree. */
    char nonce[64], previous[64];
    long long offset;
    stored_answer(path, nonce, &offset);
    CHECK(is_nonce(nonce) && offset >= -5 && offset <= 5, "first answer bound: nonce '%s', offset %lld", nonce, offset);

    /* The same installation next time; offline, the stored document with the hardware read afresh. */
    CHECK(licentia_check(app, 1, &st) == LICENTIA_OK && device && licentia_status_device(st) &&
              !strcmp(device, licentia_status_device(st)), "same device");
    licentia_status_free(st);
    memcpy(previous, nonce, sizeof nonce);
    stored_answer(path, nonce, &offset);
    CHECK(is_nonce(nonce) && strcmp(nonce, previous) != 0, "a fresh nonce each check: '%s' then '%s'", previous, nonce);
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
    memcpy(previous, nonce, sizeof nonce);
    stored_answer(path, nonce, &offset);
    CHECK(is_nonce(nonce) && strcmp(nonce, previous) != 0 && offset >= -5 && offset <= 5, "activation bound: '%s'", nonce);
    CHECK(licentia_check(app, 0, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered"), "registered offline");
    licentia_status_free(st);
    CHECK(licentia_check(app, 1, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered"), "registered online");
    licentia_status_free(st);
    CHECK(server_events("usage") == 1, "a registered check reports usage once a period: %d", server_events("usage"));
    CHECK(licentia_check(app, 1, &st) == LICENTIA_OK && server_events("usage") == 1, "not twice in one period");
    licentia_status_free(st);
    CHECK(licentia_deactivate(app, &st) == LICENTIA_OK && strcmp(licentia_status_state(st), "registered") != 0, "deactivate");
    licentia_status_free(st);
    memcpy(previous, nonce, sizeof nonce);
    stored_answer(path, nonce, &offset);
    CHECK(is_nonce(nonce) && strcmp(nonce, previous) != 0, "deactivation bound: '%s'", nonce);

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

    /* A data directory that cannot be written never stops the application: the verified answer is
     * used for this run and the status says it was not kept. */
    snprintf(path, sizeof path, "%s/blocked", root);
    FILE *blocker = fopen(path, "w");
    CHECK(blocker != NULL, "a file where the data directory would be");
    if (blocker) fclose(blocker);
    licentia *blocked = open_app(url, pub, "blocked", machine);
    CHECK(blocked && licentia_check(blocked, 1, &st) == LICENTIA_OK && licentia_status_allowed(st) &&
              licentia_status_online(st) && licentia_status_unsaved(st),
          "verified but not saved: %s", st ? licentia_status_state(st) : "(none)");
    licentia_status_free(st);
    CHECK(licentia_check(blocked, 0, &st) == LICENTIA_OK && !licentia_status_unsaved(st), "offline is never unsaved");
    licentia_status_free(st);
    licentia_close(blocked);

    /* The proxy-log trail: with the product's trail on, the install goes first as a GET (no credential),
     * recorded by the server beside the posted install (the evidence report shows it). */
    char cmd[1200], traced_machine[400], *traced_device = NULL;
    snprintf(cmd, sizeof cmd, "'%s' -m licentia product trail my-app --on --data-dir '%s' >/dev/null", python, server_dir);
    CHECK(system(cmd) == 0, "licentia product trail --on");
    snprintf(traced_machine, sizeof traced_machine, "%s/traced-machine", root);
    fake_machine(traced_machine, "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
    write_file(traced_machine, "sys/block/sda/device/serial", "TRACEDDISK\n");
    licentia *traced = open_app(url, pub, "traced", traced_machine);
    CHECK(traced && licentia_check(traced, 1, &st) == LICENTIA_OK && licentia_status_device(st), "trail: first check");
    if (st && licentia_status_device(st)) traced_device = strdup(licentia_status_device(st));
    licentia_status_free(st);
    licentia_close(traced);
    snprintf(cmd, sizeof cmd, "'%s' -m licentia evidence --device '%s' --format json --data-dir '%s'", python,
             traced_device ? traced_device : "-", server_dir);
    FILE *report = popen(cmd, "r");
    char *evidence = calloc(1, 1 << 20);
    size_t got = report && evidence ? fread(evidence, 1, (1 << 20) - 1, report) : 0;
    if (report) pclose(report);
    CHECK(got > 0 && strstr(evidence, "\"trail\"") && strstr(evidence, "\"whole\"") && strstr(evidence, "1.4.0"),
          "the install's trail recorded beside it");
    free(evidence);
    free(traced_device);
    free(state_text);
    free(device);
    free(pub);
    stop_server();
    return REPORT("real server");
}
