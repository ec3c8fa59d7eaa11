/*
 * A reinstall is the same installation: the credential the library keeps outside its data directory
 * (src/escrow.c), against a real `licentia serve`, with XDG_CONFIG_HOME in the test's temporary root
 * (tests/server.h). The uninstaller is `rm -rf` of the data directory; the Python SDK's Escrow
 * (run with $LICENTIA_PYTHON, PYTHONPATH from the environment) reads and writes the same entries.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "harness.h"
#include "internal.h"
#include "licentia.h"
#include "server.h"

static char pub[256], machine[400];

/* The data path hash the library sends for the installation <root>/<name>. */
static void data_path_of(const char *name, char out[LC_HASH_HEX]) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    lc_component_hash("my-app", "data_path", dir, strlen(dir), out);
}

/* Where the installation's entry is, by the contract: <config>/licentia/credentials/sha256(url\nproduct\ndata path). */
static void entry_path(const char *name, char out[600]) {
    char data_path[LC_HASH_HEX], keys[300], hex[65];
    unsigned char digest[crypto_hash_sha256_BYTES];
    data_path_of(name, data_path);
    snprintf(keys, sizeof keys, "%s\nmy-app\n%s", url, data_path);
    crypto_hash_sha256(digest, (const unsigned char *)keys, strlen(keys));
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(out, 600, "%s/licentia/credentials/%s", config_dir, hex);
}

static licentia *open_app(const char *name) {
    char data[400];
    licentia *h = NULL;
    snprintf(data, sizeof data, "%s/%s", root, name);
    if (licentia_open(&h, url, "my-app", pub, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, machine);
    licentia_set_option(h, LICENTIA_OPT_APP_VERSION, "1.4.0");
    return h;
}

typedef struct {
    int rc, allowed, online;
    char state[32], device[128];
} checked;

/* One check of the installation <root>/<name> with a handle opened for it (as a new process would). */
static checked check(const char *name, int online) {
    checked out = {-1, 0, 0, "", ""};
    licentia *h = open_app(name);
    licentia_status *st = NULL;
    if (h) out.rc = licentia_check(h, online, &st);
    if (st) {
        out.allowed = licentia_status_allowed(st), out.online = licentia_status_online(st);
        snprintf(out.state, sizeof out.state, "%s", licentia_status_state(st));
        snprintf(out.device, sizeof out.device, "%s", licentia_status_device(st) ? licentia_status_device(st) : "");
    }
    licentia_status_free(st);
    licentia_close(h);
    return out;
}

/* The uninstaller: the data directory goes. */
static void remove_data(const char *name) {
    char cmd[500];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", root, name);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", name);
}

/* A field of the installation's state.json, or of its escrow entry (entry != 0), copied into out ("" when none). */
static void field_of(const char *name, int entry, const char *field, char *out, size_t size) {
    char path[600];
    if (entry) entry_path(name, path);
    else snprintf(path, sizeof path, "%s/%s/state.json", root, name);
    json_t *doc = json_load_file(path, 0, NULL);
    const json_t *value = json_object_get(doc, field);
    snprintf(out, size, "%s", json_is_string(value) ? json_string_value(value) : "");
    json_decref(doc);
}

/* How many events of this kind the server stored for this device (through `licentia export`). */
static int device_events(const char *device, const char *kind) {
    char cmd[1200], line[8192];
    int n = 0;
    snprintf(cmd, sizeof cmd, "'%s' -m licentia export --format json --product my-app --data-dir '%s'", python, server_dir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    while (fgets(line, sizeof line, p)) {
        json_t *event = json_loads(line, 0, NULL);
        n += lc_same_text(json_object_get(event, "device_id"), device) && lc_same_text(json_object_get(event, "kind"), kind);
        json_decref(event);
    }
    pclose(p);
    return n;
}

/*
 * The Python SDK's Escrow for the installation <root>/<name>: save (device, secret), or load (device
 * and secret NULL) with what it found printed into out. Its file store only (no OS credential store here).
 */
static int python_escrow(const char *name, const char *device, const char *secret, char *out, size_t size) {
    char data_path[LC_HASH_HEX], cmd[2000];
    data_path_of(name, data_path);
    const char *code = device ? "import sys; from licentia.client.escrow import Escrow; "
                                "Escrow(*sys.argv[1:4]).save((sys.argv[4], sys.argv[5])); print(\"saved\")"
                              : "import sys; from licentia.client.escrow import Escrow; "
                                "found = Escrow(*sys.argv[1:4]).load(); print(found[0] if found else \"none\")";
    snprintf(cmd, sizeof cmd, "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring '%s' -c '%s' '%s' my-app '%s' '%s' '%s'",
             python, code, url, data_path, device ? device : "", secret ? secret : "");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    if (!fgets(out, (int)size, p)) out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return pclose(p) == 0 ? 0 : -1;
}

/* Names of entries opened or read in the escrow's folder since the last call (inotify), 0 when none. */
static int escrow_reads(int watch) {
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int n = 0;
    ssize_t got;
    while ((got = read(watch, events, sizeof events)) > 0)
        for (char *at = events; at < events + got; at += sizeof(struct inotify_event) + ((struct inotify_event *)at)->len)
            n += ((struct inotify_event *)at)->len > 0; /* a file in the folder, not the folder itself */
    return n;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

/* An installation at <root>/<name> whose entry is replaced by `bad`: after the uninstaller, a new installation. */
static void ignored(const char *name, const char *why, void (*spoil)(const char *path, const char *genuine)) {
    char path[600], first[128];
    checked c = check(name, 1);
    snprintf(first, sizeof first, "%s", c.device);
    entry_path(name, path);
    char *genuine = read_file(path);
    CHECK(c.rc == LICENTIA_OK && c.online && *first && genuine, "%s: installed (%d)", why, c.rc);
    if (!genuine) return;
    spoil(path, genuine);
    remove_data(name);
    c = check(name, 1);
    CHECK(c.rc == LICENTIA_OK && c.online && *c.device && strcmp(c.device, first) != 0,
          "%s: ignored, a new installation (%s, was %s)", why, c.device, first);
    free(genuine);
}

static void damaged(const char *path, const char *genuine) {
    char half[4096];
    snprintf(half, sizeof half, "%.*s", (int)strlen(genuine) / 2, genuine);
    write_text(path, half);
}

/* The genuine entry with one field changed: an entry of another server, product or data path. */
static void with_field(const char *path, const char *genuine, const char *field, const char *value) {
    json_t *entry = json_loads(genuine, 0, NULL);
    json_object_set_new(entry, field, json_string(value));
    json_dump_file(entry, path, 0);
    json_decref(entry);
}
static void other_server(const char *path, const char *genuine) { with_field(path, genuine, "server", "http://127.0.0.1:1"); }
static void other_product(const char *path, const char *genuine) { with_field(path, genuine, "product", "other-app"); }
static void other_data_path(const char *path, const char *genuine) {
    char elsewhere[LC_HASH_HEX];
    data_path_of("elsewhere", elsewhere);
    with_field(path, genuine, "data_path", elsewhere);
}

static void oversized(const char *path, const char *genuine) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(genuine, f); /* still the genuine JSON, padded past 4096 bytes */
    for (int i = 0; i < 5000; i++) fputc(' ', f);
    fclose(f);
}

static void bad_device(const char *path, const char *genuine) { with_field(path, genuine, "device", "dev\tice"); }

/* A symbolic link to the genuine entry kept elsewhere: never read, and the new entry replaces the link, not its target. */
static char linked_target[600];
static void symlinked(const char *path, const char *genuine) {
    snprintf(linked_target, sizeof linked_target, "%s/genuine-entry", root);
    write_text(linked_target, genuine);
    unlink(path);
    if (symlink(linked_target, path) != 0) fprintf(stderr, "no symlink\n");
}

int main(void) {
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    char path[600], key[64], text[256], device[128], secret[256], expected[LC_HASH_HEX];
    CHECK(server_public_key(pub, sizeof pub) == 0, "public key file %s/keys/my-app.pub", server_dir);
    snprintf(machine, sizeof machine, "%s/machine", root);
    fake_machine(machine, "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59");
    struct stat sb;

    /* 1. A registered installation, uninstalled (its data directory deleted) and installed again at the same
     *    path: the first check is online, the same device, registered, and the install was reported once. */
    checked c = check("app", 1);
    snprintf(device, sizeof device, "%s", c.device);
    CHECK(c.rc == LICENTIA_OK && !strcmp(c.state, "trial") && *device, "first contact: %s", c.state);
    issue_key(NULL, key);
    licentia *app = open_app("app");
    licentia_status *st = NULL;
    CHECK(strlen(key) == 29 && licentia_activate(app, key, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered"),
          "activated with '%s'", key);
    licentia_status_free(st);
    licentia_close(app);
    entry_path("app", path);
    CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600, "the entry is a 0600 file: %s", path);
    snprintf(text, sizeof text, "%s/licentia/credentials", config_dir);
    CHECK(stat(text, &sb) == 0 && (sb.st_mode & 0777) == 0700, "in a 0700 folder");
    char *entry = read_file(path), bare[64];
    snprintf(bare, sizeof bare, "%.5s%.5s%.5s%.5s%.5s", key, key + 6, key + 12, key + 18, key + 24);
    CHECK(entry && !strstr(entry, key) && !strstr(entry, bare), "the entry never holds the license key: %s", entry ? entry : "-");
    field_of("app", 1, "device", text, sizeof text);
    data_path_of("app", expected);
    CHECK(!strcmp(text, device), "the entry holds the device: %s", text);
    field_of("app", 1, "secret", text, sizeof text);
    field_of("app", 0, "secret", secret, sizeof secret);
    CHECK(*text && !strcmp(text, secret), "and its secret");
    field_of("app", 1, "data_path", text, sizeof text);
    CHECK(!strcmp(text, expected), "keyed by the data path hash: %s", text);
    free(entry);

    remove_data("app");
    c = check("app", 1);
    CHECK(c.rc == LICENTIA_OK && c.online && !strcmp(c.device, device) && !strcmp(c.state, "registered"),
          "reinstalled: the same installation, registered (%s, %s)", c.device, c.state);
    CHECK(device_events(device, "install") == 1, "one install event for the device: %d", device_events(device, "install"));
    c = check("app", 0);
    CHECK(c.allowed && !c.online && !strcmp(c.state, "registered"), "offline after the reinstall: %s", c.state);
    snprintf(path, sizeof path, "%s/app/state.json", root);
    write_text(path, "{\"format\": 2, \"device\": \"garbage");
    c = check("app", 1);
    CHECK(c.rc == LICENTIA_OK && c.online && !strcmp(c.device, device) && !strcmp(c.state, "registered"),
          "a damaged state resumes the same way (%s, %s)", c.device, c.state);

    /* 4. With its state, the installation never reads the entry, offline or online; without it, online, it does
     *    (the watch sees what the library opens), and offline it does not: there is no state to resume into. */
    snprintf(text, sizeof text, "%s/licentia/credentials", config_dir);
    int watch = inotify_init1(IN_NONBLOCK);
    CHECK(watch >= 0 && inotify_add_watch(watch, text, IN_OPEN | IN_ACCESS) >= 0, "watching the escrow");
    escrow_reads(watch);
    c = check("app", 0);
    CHECK(c.allowed && !c.online && escrow_reads(watch) == 0, "an offline check with a state never reads the escrow");
    c = check("app", 1);
    CHECK(c.allowed && c.online && escrow_reads(watch) == 0, "nor an online one");
    remove_data("app");
    c = check("app", 0);
    CHECK(!c.allowed && !c.online && escrow_reads(watch) == 0, "offline without a state: nothing resumed (%s)", c.state);
    c = check("app", 1);
    CHECK(c.online && !strcmp(c.device, device) && escrow_reads(watch) > 0, "online without a state: resumed from the entry");
    close(watch);

    /* 2. The Python SDK finds the entry this library wrote, and this library resumes one Python wrote. */
    CHECK(python_escrow("app", NULL, NULL, text, sizeof text) == 0 && !strcmp(text, device), "Python loads it: '%s'", text);
    c = check("py", 1);
    char py_device[128];
    snprintf(py_device, sizeof py_device, "%s", c.device);
    field_of("py", 0, "secret", secret, sizeof secret);
    entry_path("py", path);
    char *ours = read_file(path);
    CHECK(c.rc == LICENTIA_OK && *py_device && *secret && ours && unlink(path) == 0, "another installation, its entry removed");
    CHECK(python_escrow("py", py_device, secret, text, sizeof text) == 0 && !strcmp(text, "saved") && stat(path, &sb) == 0,
          "Python saved the entry: %s", text);
    char *theirs = read_file(path);
    CHECK(ours && theirs && !strcmp(ours, theirs), "byte for byte the entry this library wrote:\n%s\n%s", ours, theirs);
    free(ours), free(theirs);
    remove_data("py");
    c = check("py", 1);
    CHECK(c.rc == LICENTIA_OK && c.online && !strcmp(c.device, py_device), "resumed from Python's entry: %s", c.device);

    /* 3. A second data path is another installation: it never takes the first one's entry. */
    c = check("second", 1);
    CHECK(c.rc == LICENTIA_OK && *c.device && strcmp(c.device, device) != 0 && strcmp(c.device, py_device) != 0,
          "a second data path, a new installation: %s", c.device);
    field_of("app", 1, "device", text, sizeof text);
    CHECK(!strcmp(text, device), "the first entry is unchanged");

    /* Entries that are not this installation's, or not well formed, are ignored: never an error, never a crash. */
    ignored("damaged", "a damaged entry", damaged);
    ignored("server", "another server's entry", other_server);
    ignored("product", "another product's entry", other_product);
    ignored("path", "another data path's entry", other_data_path);
    ignored("oversized", "an entry over 4096 bytes", oversized);
    ignored("device", "a device id that is not printable ASCII", bad_device);
    ignored("linked", "an entry reached through a symbolic link", symlinked);
    entry_path("linked", path);
    field_of("linked", 1, "device", text, sizeof text);
    field_of("linked", 0, "device", device, sizeof device);
    CHECK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && !strcmp(text, device), "the new entry replaced the link");
    char *target = read_file(linked_target);
    CHECK(target && !strstr(target, device), "and never wrote through it");
    free(target);
    field_of("damaged", 1, "device", text, sizeof text);
    field_of("damaged", 0, "device", device, sizeof device);
    CHECK(*text && !strcmp(text, device), "a new credential replaces an ignored entry");

    /* An entry the server voided (a wrong secret): a new installation, whose credential replaces the entry. */
    c = check("voided", 1);
    char voided[128];
    snprintf(voided, sizeof voided, "%s", c.device);
    entry_path("voided", path);
    char *genuine = read_file(path);
    json_t *spoilt = genuine ? json_loads(genuine, 0, NULL) : NULL;
    json_object_set_new(spoilt, "secret", json_string("not-the-secret-the-server-issued"));
    CHECK(spoilt && json_dump_file(spoilt, path, 0) == 0, "the entry's secret spoilt");
    json_decref(spoilt);
    free(genuine);
    remove_data("voided");
    c = check("voided", 1);
    CHECK(c.rc == LICENTIA_OK && c.online && *c.device && strcmp(c.device, voided) != 0, "voided: a new installation (%s)",
          c.device);
    field_of("voided", 1, "device", text, sizeof text);
    field_of("voided", 1, "secret", secret, sizeof secret);
    CHECK(!strcmp(text, c.device) && strcmp(secret, "not-the-secret-the-server-issued") != 0, "the entry holds the new credential");
    snprintf(voided, sizeof voided, "%s", c.device);
    remove_data("voided");
    c = check("voided", 1);
    CHECK(c.online && !strcmp(c.device, voided), "and resumes it next time");

    /* Forgetting: the entry goes, and installing again is a new installation. */
    app = open_app("voided");
    CHECK(licentia_forget_escrow(app) == LICENTIA_OK && stat(path, &sb) != 0, "forgotten");
    CHECK(licentia_forget_escrow(app) == LICENTIA_OK, "forgetting twice is no error");
    CHECK(licentia_forget_escrow(NULL) == LICENTIA_E_ARGUMENT, "no handle");
    licentia_close(app);
    remove_data("voided");
    c = check("voided", 1);
    CHECK(c.online && *c.device && strcmp(c.device, voided) != 0, "after forgetting, a new installation");

    stop_server();
    return REPORT("escrow");
}
