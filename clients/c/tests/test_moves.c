/*
 * An installation's identity across data directories and computers, against a real `licentia serve`
 * (tests/server.h; XDG_CONFIG_HOME in the test's temporary root): the explicit move of a previous
 * version's data directory (licentia_move_from) and its refusals, a data directory copied to another
 * computer (a new installation told moved_to_other_machine; the owner keeps its license), and a
 * license type's transfer limit (the refusal's Retry-After and next_transfer_at).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "internal.h"
#include "licentia.h"
#include "server.h"
#include "state.h"

static char pub[256], machine[400];

static void dir_of(const char *name, char out[400]) { snprintf(out, 400, "%s/%s", root, name); }

/* A handle for the installation <root>/<name> of app version `version` on the fake computer `on`. */
static licentia *open_app(const char *name, const char *on, const char *version) {
    char data[400];
    licentia *h = NULL;
    dir_of(name, data);
    if (licentia_open(&h, url, "my-app", pub, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, on);
    licentia_set_option(h, LICENTIA_OPT_APP_VERSION, version);
    return h;
}

typedef struct {
    int rc, allowed, online;
    char state[32], reason[64], device[128], refusal[101];
} seen;

static seen see(licentia *h, int rc, licentia_status *st) {
    seen s = {rc, 0, 0, "", "", "", ""};
    if (st) {
        s.allowed = licentia_status_allowed(st), s.online = licentia_status_online(st);
        snprintf(s.state, sizeof s.state, "%s", licentia_status_state(st));
        snprintf(s.reason, sizeof s.reason, "%s", licentia_status_reason(st) ? licentia_status_reason(st) : "");
        snprintf(s.device, sizeof s.device, "%s", licentia_status_device(st) ? licentia_status_device(st) : "");
    }
    licentia_last_refusal(h, s.refusal, sizeof s.refusal);
    licentia_status_free(st);
    return s;
}

/* One check of <root>/<name> on `on` with a handle opened for it (as a new process would). */
static seen check_on(const char *name, const char *on, int online) {
    licentia *h = open_app(name, on, "3.0");
    licentia_status *st = NULL;
    int rc = h ? (int)licentia_check(h, online, &st) : -1;
    seen s = see(h, rc, st);
    licentia_close(h);
    return s;
}

/* One call on <root>/<name>: activate with key, or deactivate (key NULL). */
static seen license_on(const char *name, const char *on, const char *key) {
    licentia *h = open_app(name, on, "3.0");
    licentia_status *st = NULL;
    int rc = !h ? -1 : key ? (int)licentia_activate(h, key, &st) : (int)licentia_deactivate(h, &st);
    seen s = see(h, rc, st);
    licentia_close(h);
    return s;
}

/* licentia_move_from(<root>/<name>, <root>/<from>) on `on`. */
static seen move_on(const char *name, const char *from, const char *on, const char *version) {
    char old_dir[400];
    dir_of(from, old_dir);
    licentia *h = open_app(name, on, version);
    licentia_status *st = NULL;
    int rc = h ? (int)licentia_move_from(h, old_dir, &st) : -1;
    seen s = see(h, rc, st);
    licentia_close(h);
    return s;
}

/* `licentia license issue` with extra options (a license type's knobs); the key, or "" on failure. */
/* <root>/<name>/state.json, whole (malloc'd), or NULL when there is none. */
static char *state_of(const char *name) {
    char path[500];
    snprintf(path, sizeof path, "%s/%s/state.json", root, name);
    return read_file(path);
}

static int has_state(const char *name) {
    char *text = state_of(name);
    free(text);
    return text != NULL;
}

/* The installation's credential entry in the user's configuration directory, by the contract. */
static void entry_path(const char *name, char out[600]) {
    char dir[400], data_path[LC_HASH_HEX], keys[300], hex[65];
    unsigned char digest[crypto_hash_sha256_BYTES];
    dir_of(name, dir);
    lc_component_hash("my-app", "data_path", dir, strlen(dir), data_path);
    snprintf(keys, sizeof keys, "%s\nmy-app\n%s", url, data_path);
    crypto_hash_sha256(digest, (const unsigned char *)keys, strlen(keys));
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(out, 600, "%s/licentia/credentials/%s", config_dir, hex);
}

/* The device of the entry for <root>/<name> ("" when there is none). */
static void entry_device(const char *name, char out[128]) {
    char path[600];
    entry_path(name, path);
    json_t *entry = json_load_file(path, 0, NULL);
    const json_t *device = json_object_get(entry, "device");
    snprintf(out, 128, "%s", json_is_string(device) ? json_string_value(device) : "");
    json_decref(entry);
}

static void shell(const char *format, const char *a, const char *b) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, format, a, b);
    if (system(cmd) != 0) fprintf(stderr, "failed: %s\n", cmd);
}

static void write_state(const char *name, const char *text) {
    char dir[400], path[500];
    dir_of(name, dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/state.json", dir);
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

/* The data of the device's one event of this kind, through `licentia export` (NULL when not exactly one). */
static json_t *one_event(const char *device, const char *kind) {
    char cmd[1200], line[8192];
    json_t *found = NULL;
    int n = 0;
    snprintf(cmd, sizeof cmd, "'%s' -m licentia export --format json --product my-app --data-dir '%s'", python, server_dir);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    while (fgets(line, sizeof line, p)) {
        json_t *event = json_loads(line, 0, NULL);
        if (lc_same_text(json_object_get(event, "device_id"), device) && lc_same_text(json_object_get(event, "kind"), kind)) {
            const json_t *data = json_object_get(event, "data");
            json_decref(found);
            found = json_is_string(data) ? json_loads(json_string_value(data), 0, NULL) : json_incref((json_t *)data);
            n++;
        }
        json_decref(event);
    }
    pclose(p);
    if (n != 1) {
        json_decref(found);
        return NULL;
    }
    return found;
}

/* 4. A v2 data directory activated; v3, in a new one, moves from it. */
static void explicit_move(void) {
    char key[64], device[128], entry[128], path[600];
    struct stat sb;
    issue_key(NULL, key);
    licentia *v2 = open_app("v2", machine, "2.0");
    licentia_status *st = NULL;
    int rc = v2 ? (int)licentia_activate(v2, key, &st) : -1;
    seen s = see(v2, rc, st);
    licentia_close(v2);
    snprintf(device, sizeof device, "%s", s.device);
    CHECK(s.rc == LICENTIA_OK && !strcmp(s.state, "registered") && *device, "v2 activated (rc %d, %s)", s.rc, s.state);
    char *saved = state_of("v2");

    s = move_on("v3", "v2", machine, "3.0");
    CHECK(s.rc == LICENTIA_OK && s.online && s.allowed && !strcmp(s.state, "registered") && !strcmp(s.device, device),
          "moved: the same device, registered (rc %d, %s, %s)", s.rc, s.state, s.device);
    CHECK(!has_state("v2"), "the old folder's state.json is gone");
    s = check_on("v3", machine, 0);
    CHECK(s.rc == LICENTIA_OK && !s.online && !strcmp(s.state, "registered") && !strcmp(s.device, device),
          "the new folder's offline check: %s", s.state);
    s = check_on("v3", machine, 1);
    CHECK(s.online && !strcmp(s.state, "registered") && !strcmp(s.device, device), "and online: %s", s.state);
    json_t *upgrade = one_event(device, LICENTIA_EVENT_UPGRADE);
    CHECK(upgrade && lc_same_text(json_object_get(upgrade, "via"), "move") &&
              lc_same_text(json_object_get(upgrade, "from"), "2.0") && lc_same_text(json_object_get(upgrade, "to"), "3.0"),
          "the server recorded an upgrade from 2.0 to 3.0 by a move");
    json_decref(upgrade);

    /* The kept credential follows the installation: the new path's entry, none for the old path. */
    entry_device("v3", entry);
    CHECK(!strcmp(entry, device), "the new data path's entry holds the device: '%s'", entry);
    entry_path("v2", path);
    CHECK(stat(path, &sb) != 0, "the old data path's entry is gone");
    shell("rm -rf '%s/%s'", root, "v3");
    s = check_on("v3", machine, 1);
    CHECK(s.online && !strcmp(s.device, device) && !strcmp(s.state, "registered"), "v3 reinstalled resumes it: %s", s.device);

    /* The old state put back is a copy now: it does not run the license there. */
    if (saved) write_state("v2", saved);
    s = check_on("v2", machine, 1);
    CHECK(s.rc == LICENTIA_OK && saved && strcmp(s.state, "registered") != 0 && strcmp(s.device, device) != 0,
          "the old state put back is not registered: %s, %s", s.state, s.device);

    /* A stale copy of the old state (its token rotated by the move) cannot move again. */
    if (saved) write_state("stale", saved);
    s = move_on("stale-to", "stale", machine, "3.0");
    char *after = state_of("stale");
    CHECK(s.rc == LICENTIA_E_REFUSED && !strcmp(s.refusal, LICENTIA_REFUSAL_STALE_TOKEN) && !*s.state,
          "stale_token (rc %d, %s)", s.rc, s.refusal);
    CHECK(after && saved && !strcmp(after, saved) && !has_state("stale-to"), "nothing changed in either folder");
    free(after);
    free(saved);
}

/* The move's refusals before anything is sent, and the server's; nothing changes in either folder. */
static void refused_moves(void) {
    char other[400];
    seen s;
    shell("mkdir -p '%s/%s'", root, "empty");
    s = move_on("fresh", "empty", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_ARGUMENT && !strcmp(s.refusal, LICENTIA_MOVE_NO_INSTALLATION) && !*s.state,
          "an empty old folder (rc %d, %s)", s.rc, s.refusal);
    s = move_on("fresh", "never-made", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_ARGUMENT && !strcmp(s.refusal, LICENTIA_MOVE_NO_INSTALLATION), "a missing one: %s", s.refusal);
    write_state("garbage", "{\"format\": 2, \"device\": \"x");
    s = move_on("fresh", "garbage", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_ARGUMENT && !strcmp(s.refusal, LICENTIA_MOVE_NO_INSTALLATION), "a damaged one: %s", s.refusal);
    CHECK(!has_state("fresh"), "the new folder is still empty");

    CHECK(check_on("old", machine, 1).online && check_on("busy", machine, 1).online, "two installations");
    char *old = state_of("old"), *busy = state_of("busy");
    s = move_on("busy", "old", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_ARGUMENT && !strcmp(s.refusal, LICENTIA_MOVE_ALREADY_INSTALLED),
          "a new folder holding an installation (rc %d, %s)", s.rc, s.refusal);
    s = move_on("old", "old", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_ARGUMENT && !strcmp(s.refusal, LICENTIA_MOVE_SAME_FOLDER), "the same folder: %s", s.refusal);
    s = move_on("old", "old/", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_ARGUMENT && !strcmp(s.refusal, LICENTIA_MOVE_SAME_FOLDER), "written another way: %s", s.refusal);
    char *old_after = state_of("old"), *busy_after = state_of("busy");
    CHECK(old && busy && old_after && busy_after && !strcmp(old, old_after) && !strcmp(busy, busy_after),
          "both folders unchanged");
    free(old_after), free(busy_after), free(busy);
    licentia *h = open_app("fresh", machine, "3.0");
    licentia_status *st = NULL;
    CHECK(licentia_move_from(h, NULL, &st) == LICENTIA_E_ARGUMENT && licentia_move_from(h, "", &st) == LICENTIA_E_ARGUMENT &&
              licentia_move_from(NULL, "x", &st) == LICENTIA_E_ARGUMENT && !st,
          "no folder, no handle");
    licentia_close(h);

    /* The old state is another computer's: other_machine (a move stays on its machine). */
    snprintf(other, sizeof other, "%s/elsewhere", root);
    fake_machine(other, "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
    s = move_on("moved-elsewhere", "old", other, "3.0");
    old_after = state_of("old");
    CHECK(s.rc == LICENTIA_E_REFUSED && !strcmp(s.refusal, LICENTIA_REFUSAL_OTHER_MACHINE) && !*s.state,
          "other_machine (rc %d, %s)", s.rc, s.refusal);
    CHECK(old && old_after && !strcmp(old, old_after) && !has_state("moved-elsewhere"), "nothing changed in either folder");
    free(old_after);

    /* A credential the server does not know: refused, and never a first contact in its place. */
    char old_dir[400], forged_dir[400];
    lc_state state;
    dir_of("old", old_dir);
    dir_of("forged", forged_dir);
    lc_state_load(old_dir, &state);
    free(state.secret);
    state.secret = strdup("not-the-secret-the-server-issued");
    CHECK(state.device && lc_state_save(forged_dir, &state) == LICENTIA_OK, "a sealed state with a wrong secret");
    lc_state_clear(&state);
    char *forged = state_of("forged");
    s = move_on("forged-to", "forged", machine, "3.0");
    char *forged_after = state_of("forged");
    CHECK(s.rc == LICENTIA_E_REFUSED && !strcmp(s.refusal, LICENTIA_REFUSAL_INVALID_CREDENTIAL) && !*s.state,
          "invalid_credential (rc %d, %s)", s.rc, s.refusal);
    CHECK(forged && forged_after && !strcmp(forged, forged_after) && !has_state("forged-to"), "nothing changed in either folder");
    free(forged), free(forged_after), free(old);

    /* The server moved it but the new folder cannot be written (a file stands in its place): the old
     * folder stays, and the same call again finishes the move. */
    seen first = check_on("io-from", machine, 1);
    char io_dir[400];
    dir_of("io-to", io_dir);
    FILE *f = fopen(io_dir, "w");
    if (f) fclose(f);
    s = move_on("io-to", "io-from", machine, "3.0");
    CHECK(s.rc == LICENTIA_E_IO && !strcmp(s.device, first.device) && has_state("io-from"),
          "unwritable: LICENTIA_E_IO, the old folder kept (rc %d, %s)", s.rc, s.device);
    unlink(io_dir);
    s = move_on("io-to", "io-from", machine, "3.0");
    CHECK(s.rc == LICENTIA_OK && !strcmp(s.device, first.device) && !has_state("io-from") && has_state("io-to"),
          "moved on the second call (rc %d, %s, %s)", s.rc, s.refusal, s.device);
    s = check_on("io-to", machine, 1);
    CHECK(s.online && !strcmp(s.device, first.device), "the same installation: %s", s.device);
}

/* 2. A licensed data directory copied to a computer sharing no strong component, at the same path. */
static void copied_to_another_computer(void) {
    char key[64], other[400], other_config[400], entry[128];
    snprintf(other, sizeof other, "%s/other-pc", root);
    fake_machine(other, "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"); /* its own machine id, disk and network card */
    issue_key(NULL, key);
    seen owner = license_on("owner", machine, key);
    CHECK(owner.rc == LICENTIA_OK && !strcmp(owner.state, "registered"), "the owner's license: %s", owner.state);

    shell("cp -a '%s/owner' '%s/owner-aside'", root, root);
    snprintf(other_config, sizeof other_config, "%s/other-config", root); /* the other computer's user */
    setenv("XDG_CONFIG_HOME", other_config, 1);
    seen copy = check_on("owner", other, 1);
    setenv("XDG_CONFIG_HOME", config_dir, 1);
    CHECK(copy.rc == LICENTIA_OK && copy.online && copy.allowed && !strcmp(copy.state, "trial") &&
              !strcmp(copy.reason, LICENTIA_REASON_MOVED_TO_OTHER_MACHINE) && *copy.device && strcmp(copy.device, owner.device) != 0,
          "the copy: a new installation in trial, told why (%s, %s, %s)", copy.state, copy.reason, copy.device);
    seen offline = check_on("owner", other, 0);
    CHECK(!strcmp(offline.state, "trial") && !strcmp(offline.reason, LICENTIA_REASON_MOVED_TO_OTHER_MACHINE),
          "offline too: %s, %s", offline.state, offline.reason);

    char aside[400], owner_dir[400];
    dir_of("owner-aside", aside);
    dir_of("owner", owner_dir);
    shell("rm -rf '%s/%s'", root, "owner");
    CHECK(rename(aside, owner_dir) == 0, "the owner's folder put back");
    seen back = check_on("owner", machine, 1);
    CHECK(back.online && !strcmp(back.state, "registered") && !strcmp(back.device, owner.device) && !*back.reason,
          "the owner is still registered with its device (%s, %s, '%s')", back.state, back.device, back.reason);
    entry_device("owner", entry);
    CHECK(!strcmp(entry, owner.device), "and its kept credential is its own");
}

static long long now_s(void) { return (long long)time(NULL); }

/* 3. A license type allowing one move to another computer in 7 days. */
static void transfer_limits(void) {
    char key[64], b[400], c[400], text[64];
    snprintf(b, sizeof b, "%s/pc-b", root);
    snprintf(c, sizeof c, "%s/pc-c", root);
    fake_machine(b, "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
    fake_machine(c, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf");
    issue_with("--max-devices 1 --set transfer_limit=1 --set transfer_period_days=7", key);
    CHECK(strlen(key) == 29, "issued '%s'", key);
    seen s = license_on("ta", machine, key);
    CHECK(s.rc == LICENTIA_OK && !strcmp(s.state, "registered"), "A activates (rc %d, %s)", s.rc, s.refusal);
    CHECK(license_on("ta", machine, NULL).rc == LICENTIA_OK, "A deactivates");
    s = license_on("ta", machine, key);
    CHECK(s.rc == LICENTIA_OK && !strcmp(s.state, "registered"), "A takes its seat back: not a transfer (%s)", s.refusal);
    CHECK(license_on("ta", machine, NULL).rc == LICENTIA_OK, "A deactivates again");
    s = license_on("tb", b, key);
    CHECK(s.rc == LICENTIA_OK && !strcmp(s.state, "registered"), "B: the one transfer allowed (rc %d, %s)", s.rc, s.refusal);
    CHECK(license_on("tb", b, NULL).rc == LICENTIA_OK, "B deactivates");

    licentia *h = open_app("tc", c, "3.0");
    licentia_status *st = NULL;
    licentia_error rc = licentia_activate(h, key, &st);
    char refusal[101];
    licentia_last_refusal(h, refusal, sizeof refusal);
    long long wait = licentia_last_retry_after(h), at = 0;
    CHECK(rc == LICENTIA_E_REFUSED && !st && !strcmp(refusal, LICENTIA_REFUSAL_TRANSFER_LIMIT), "C refused (rc %d, %s)", rc, refusal);
    CHECK(wait > 6 * 86400 && wait <= 7 * 86400, "Retry-After: %lld s", wait);
    CHECK(licentia_last_refusal_detail(h, "next_transfer_at", text, sizeof text) == 1 && lc_parse_iso(text, &at) == 0 &&
              at / 1000 - now_s() > 6 * 86400 && at / 1000 - now_s() <= 7 * 86400 + 5,
          "next_transfer_at: '%s'", text);
    CHECK(licentia_last_refusal_detail(h, "transfers_used", text, sizeof text) == 1 && !strcmp(text, "1"), "transfers_used %s", text);
    CHECK(licentia_last_refusal_detail(h, "transfer_limit", text, sizeof text) == 1 && !strcmp(text, "1"), "transfer_limit %s", text);
    CHECK(licentia_last_refusal_detail(h, "message", text, sizeof text) == 1 && *text, "a message for a person: %s", text);
    CHECK(licentia_last_refusal_detail(h, "code", text, sizeof text) == 0 && !*text, "the code is licentia_last_refusal's");
    CHECK(licentia_last_refusal_detail(h, "nope", text, sizeof text) == 0 && !*text, "no such field");
    CHECK(licentia_last_refusal_detail(NULL, "message", text, sizeof text) == 0 && licentia_last_retry_after(NULL) == -1, "no handle");
    /* The next call forgets the refusal. */
    CHECK(licentia_check(h, 1, &st) == LICENTIA_OK && licentia_last_retry_after(h) == -1 &&
              licentia_last_refusal_detail(h, "next_transfer_at", text, sizeof text) == 0,
          "forgotten by the next call");
    licentia_status_free(st);
    licentia_close(h);

    s = license_on("ta", machine, key);
    CHECK(s.rc == LICENTIA_E_REFUSED && !strcmp(s.refusal, LICENTIA_REFUSAL_TRANSFER_LIMIT),
          "A too: B took the seat A gave back (rc %d, %s)", s.rc, s.refusal);
    s = license_on("tb", b, key);
    CHECK(s.rc == LICENTIA_OK && !strcmp(s.state, "registered"), "B, which gave it back, takes it again (%s)", s.refusal);
    /* A refusal without a Retry-After says none. */
    h = open_app("tc", c, "3.0");
    CHECK(licentia_activate(h, key, &st) == LICENTIA_E_REFUSED && licentia_last_retry_after(h) == -1, "too_many_devices: none");
    licentia_last_refusal(h, refusal, sizeof refusal);
    CHECK(!strcmp(refusal, LICENTIA_REFUSAL_TOO_MANY_DEVICES), "%s", refusal);
    licentia_close(h);
}

int main(void) {
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    CHECK(server_public_key(pub, sizeof pub) == 0, "public key file %s/keys/my-app.pub", server_dir);
    snprintf(machine, sizeof machine, "%s/machine", root);
    fake_machine(machine, "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59");

    explicit_move();
    refused_moves();
    copied_to_another_computer();
    transfer_limits();

    stop_server();
    return REPORT("moves");
}
