/*
 * Floating seats, metered use, typed entitlements, the licensee and maintenance, air-gapped
 * activation (request, response, deactivation proof through the server's CLI), against a real
 * `licentia serve` (SQLite in a temporary data dir), started and always reaped here.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "licentia.h"
#include "platform.h"
#include "server.h"

static char pub[256], machine[400], machine2[400];

static licentia *open_on(const char *server, const char *name, const char *on) {
    char data[400];
    licentia *h = NULL;
    snprintf(data, sizeof data, "%s/%s", root, name);
    if (licentia_open(&h, server, "my-app", pub, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, on);
    licentia_set_option(h, LICENTIA_OPT_TIMEOUT_MS, "5000");
    return h;
}

/* `licentia <args>` on the server's data dir; 0 when it succeeded. */
static int cli(const char *args) {
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "'%s' -m licentia %s --data-dir '%s' >/dev/null", python, args, server_dir);
    return system(cmd);
}

typedef struct {
    licentia *h;
    licentia_lease *lease;
    int beats, ok;
} beating;

/* Heartbeats from a thread of the application's, while the main thread reads the lease. */
static void *beat(void *arg) {
    beating *b = arg;
    for (int i = 0; i < b->beats; i++) b->ok += licentia_lease_heartbeat(b->h, b->lease) == LICENTIA_OK;
    return NULL;
}

static void floating(void) {
    char key[64], refusal[101];
    CHECK(cli("policy create my-app Floating --set kind=floating --set max_devices=1 --set floating_lease_seconds=60 "
              "--set borrow_days=3 --set 'entitlements={\"seats_tier\": \"team\"}'") == 0, "a floating license type");
    issue_with("--policy Floating", key);
    CHECK(strlen(key) == 29, "a floating key '%s'", key);
    licentia *a = open_on(url, "float-a", machine), *b = open_on(url, "float-b", machine2);
    licentia_lease *la = NULL, *lb = NULL;
    CHECK(licentia_checkout(a, "7KQ2M-AAAAA", 0, &la) == LICENTIA_E_INVALID_KEY && !la, "a typo before any network call");
    licentia_error rc = licentia_checkout(a, key, 0, &la);
    CHECK(rc == LICENTIA_OK && licentia_lease_valid(la) && !strcmp(licentia_lease_state(la), LICENTIA_LEASE_ACTIVE) &&
              licentia_lease_online(la) && !licentia_lease_borrowed(la) && !strncmp(licentia_lease_id(la), "ls_", 3) &&
              licentia_lease_heartbeat_seconds(la) >= 1 && licentia_lease_heartbeat_seconds(la) <= 30 &&
              licentia_lease_expires_at(la) && !strcmp(licentia_lease_entitlement_string(la, "seats_tier", "-"), "team"),
          "a seat checked out: rc %d", rc);
    char first_id[64];
    snprintf(first_id, sizeof first_id, "%s", la ? licentia_lease_id(la) : "");
    CHECK(licentia_lease_heartbeat(a, la) == LICENTIA_OK && licentia_lease_valid(la) && !strcmp(licentia_lease_id(la), first_id),
          "a heartbeat keeps it");
    beating beats = {a, la, 3, 0};
    pthread_t thread;
    int reads = 0;
    pthread_create(&thread, NULL, beat, &beats);
    for (int i = 0; i < 200; i++) reads += licentia_lease_valid(la) && licentia_lease_entitlement_int(la, "none", 7) == 7 &&
                                          !strcmp(licentia_lease_state(la), LICENTIA_LEASE_ACTIVE);
    pthread_join(thread, NULL);
    CHECK(beats.ok == 3 && reads == 200, "heartbeats from another thread while the lease is read: %d, %d", beats.ok, reads);
    rc = licentia_checkout(b, key, 0, &lb);
    licentia_last_refusal(b, refusal, sizeof refusal);
    CHECK(rc == LICENTIA_E_REFUSED && !lb && !strcmp(refusal, LICENTIA_REFUSAL_NO_SEAT_AVAILABLE),
          "the one seat is taken: rc %d %s", rc, refusal);
    CHECK(licentia_lease_release(a, la) == LICENTIA_OK && !licentia_lease_valid(la) &&
              !strcmp(licentia_lease_state(la), LICENTIA_LEASE_RELEASED), "released");
    CHECK(licentia_lease_heartbeat(a, la) == LICENTIA_E_REFUSED, "no heartbeat after the release");
    licentia_lease_free(la), la = NULL;
    CHECK(licentia_checkout(b, key, 0, &lb) == LICENTIA_OK && licentia_lease_valid(lb), "the freed seat goes to the other machine");
    CHECK(licentia_lease_release(b, lb) == LICENTIA_OK, "returned");
    licentia_lease_free(lb), lb = NULL;

    /* Borrowed for offline use: kept in lease.json, used offline until its end, on this machine only. */
    rc = licentia_checkout(a, key, 2, &la);
    CHECK(rc == LICENTIA_OK && licentia_lease_borrowed(la) && !strcmp(licentia_lease_state(la), LICENTIA_LEASE_BORROWED),
          "borrowed: rc %d", rc);
    licentia_lease_free(la), la = NULL;
    licentia *away = open_on("http://127.0.0.1:9", "float-a", machine);
    licentia_set_option(away, LICENTIA_OPT_TIMEOUT_MS, "300");
    rc = licentia_checkout(away, key, 0, &la);
    CHECK(rc == LICENTIA_OK && licentia_lease_valid(la) && licentia_lease_borrowed(la) && !licentia_lease_online(la) &&
              !strcmp(licentia_lease_entitlement_string(la, "seats_tier", "-"), "team"),
          "the borrow offline: rc %d", rc);
    licentia_lease_free(la), la = NULL;
    char later[21];
    lc_format_iso(lc_realtime_ms() + 3LL * 86400 * 1000, later);
    licentia_set_option(away, LICENTIA_OPT_NOW, later);
    CHECK(licentia_checkout(away, key, 0, &la) == LICENTIA_E_OFFLINE && !la, "not after its end");
    licentia_close(away);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/float-c' && cp '%s/float-a/lease.json' '%s/float-c/'", root, root, root);
    CHECK(system(cmd) == 0, "the lease file copied");
    licentia *copy = open_on("http://127.0.0.1:9", "float-c", machine2);
    licentia_set_option(copy, LICENTIA_OPT_TIMEOUT_MS, "300");
    CHECK(licentia_checkout(copy, key, 0, &la) == LICENTIA_E_OFFLINE && !la, "a borrow copied to another computer grants nothing");
    licentia_close(copy);
    rc = licentia_checkout(a, key, 0, &la); /* this installation's lease, renewed */
    CHECK(rc == LICENTIA_OK && licentia_lease_release(a, la) == LICENTIA_OK, "a borrow returned early: rc %d", rc);
    licentia_lease_free(la);
    licentia_close(a), licentia_close(b);
}

static void metered(void) {
    char key[64], refusal[101];
    CHECK(cli("policy create my-app Metered --set 'meters={\"renders\": {\"limit\": 5, \"period\": \"month\"}}' "
              "--set max_devices=10") == 0, "a metered license type");
    issue_with("--policy Metered", key);
    licentia *h = open_on(url, "metered", machine);
    licentia_status *st = NULL;
    CHECK(licentia_activate(h, key, &st) == LICENTIA_OK, "activated");
    licentia_status_free(st);
    licentia_consumption used;
    licentia_error rc = licentia_consume(h, "renders", 3, NULL, &used);
    CHECK(rc == LICENTIA_OK && used.used == 3 && used.limit == 5 && used.remaining == 2 && !strcmp(used.meter, "renders") &&
              !strcmp(used.period, "month") && used.period_start[0] && used.period_end[0] && !used.replayed,
          "3 of 5: rc %d used %lld remaining %lld", rc, used.used, used.remaining);
    CHECK(licentia_consume(h, "renders", 1, "job-42", &used) == LICENTIA_OK && used.used == 4 && !used.replayed, "one more");
    CHECK(licentia_consume(h, "renders", 1, "job-42", &used) == LICENTIA_OK && used.used == 4 && used.replayed,
          "the same idempotency key is counted once: %lld", used.used);
    rc = licentia_consume(h, "renders", 3, NULL, &used);
    licentia_last_refusal(h, refusal, sizeof refusal);
    CHECK(rc == LICENTIA_E_QUOTA_EXCEEDED && used.remaining == 1 && used.limit == 5 && !strcmp(refusal, "quota_exceeded"),
          "past the limit: rc %d remaining %lld", rc, used.remaining);
    CHECK(licentia_consume(h, "renders", 0, NULL, &used) == LICENTIA_OK && used.used == 4, "0 only reads: %lld", used.used);
    CHECK(licentia_consume(h, "9 bad", 1, NULL, NULL) == LICENTIA_E_ARGUMENT, "a bad meter name");
    CHECK(licentia_consume(h, "renders", -1, NULL, NULL) == LICENTIA_E_ARGUMENT, "a negative amount");
    CHECK(licentia_consume(h, "renders", 1, "with space", NULL) == LICENTIA_E_ARGUMENT, "a bad idempotency key");
    licentia *down = open_on("http://127.0.0.1:9", "metered", machine);
    licentia_set_option(down, LICENTIA_OPT_TIMEOUT_MS, "200");
    CHECK(licentia_consume(down, "renders", 1, NULL, NULL) == LICENTIA_E_OFFLINE, "offline");
    licentia_close(down);
    licentia_close(h);
}

static void entitled(void) {
    char key[64];
    CHECK(cli("policy create my-app Pro --set 'entitlements={\"export_pdf\": true, \"max_projects\": 100, \"edition\": \"pro\"}' "
              "--set maintenance_days=30") == 0, "a license type with entitlements and maintenance");
    issue_with("--policy Pro --name 'Acme GmbH'", key);
    licentia *h = open_on(url, "pro", machine);
    licentia_status *st = NULL;
    CHECK(licentia_check(h, 1, &st) == LICENTIA_OK && licentia_status_customer_id(st) == -1 && !licentia_status_customer_name(st),
          "a trial has no licensee");
    licentia_status_free(st), st = NULL;
    for (int online = 1; online >= 0; online--) {
        licentia_error rc = online ? licentia_activate(h, key, &st) : licentia_check(h, 0, &st);
        CHECK(rc == LICENTIA_OK && licentia_status_allowed(st), "registered (online %d): rc %d", online, rc);
        CHECK(licentia_status_entitlement_bool(st, "export_pdf", 0) == 1 && licentia_status_has_feature(st, "export_pdf") &&
                  licentia_status_entitlement_int(st, "max_projects", -1) == 100 &&
                  !strcmp(licentia_status_entitlement_string(st, "edition", "-"), "pro") &&
                  licentia_status_entitlement_type(st, "max_projects") == LICENTIA_ENTITLEMENT_INT &&
                  licentia_status_entitlement_type(st, "missing") == LICENTIA_ENTITLEMENT_NONE &&
                  licentia_status_entitlement_int(st, "edition", 7) == 7 && licentia_status_entitlement_count(st) == 3,
              "typed entitlements (online %d)", online);
        CHECK(licentia_status_customer_id(st) > 0 && licentia_status_customer_name(st) &&
                  !strcmp(licentia_status_customer_name(st), "Acme GmbH"),
              "the licensee (online %d): %s", online, licentia_status_customer_name(st) ? licentia_status_customer_name(st) : "-");
        CHECK(licentia_status_has_maintenance(st) && licentia_status_maintenance_until(st) &&
                  strlen(licentia_status_maintenance_until(st)) >= 20,
              "maintenance (online %d)", online);
        licentia_status_free(st), st = NULL;
    }
    licentia_close(h);
}

static void save(const char *rel, const char *text) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static void airgapped(void) {
    char key[64], cmd[1600], path[600];
    issue_key(NULL, key);
    licentia *air = open_on("http://127.0.0.1:9", "air", machine), *other = open_on("http://127.0.0.1:9", "air2", machine2);
    licentia_set_option(air, LICENTIA_OPT_TIMEOUT_MS, "200");
    char *request = NULL, *proof = NULL, *again = NULL;
    CHECK(licentia_activation_request(air, "7KQ2M-AAAAA", &request) == LICENTIA_E_INVALID_KEY && !request, "a typo");
    CHECK(licentia_activation_request(air, key, &request) == LICENTIA_OK && request &&
              !strncmp(request, "-----BEGIN LICENTIA ACTIVATION REQUEST-----\n", 44),
          "a request written");
    struct stat sb;
    snprintf(path, sizeof path, "%s/air/offline.json", root);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "its keys kept 0600");
    save("request.txt", request ? request : "");
    snprintf(cmd, sizeof cmd, "license offline-activate '%s/request.txt' -o '%s/response.txt'", root, root);
    CHECK(cli(cmd) == 0, "the vendor answers it");
    snprintf(path, sizeof path, "%s/response.txt", root);
    char *response = read_file(path);
    CHECK(response && strstr(response, "-----BEGIN LICENTIA ACTIVATION RESPONSE-----"), "a response");
    size_t n = response ? strlen(response) : 0;
    licentia_status *st = NULL;
    /* Carried to another computer with this installation's keys: its hardware is not the one signed. */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/air2' && cp '%s/air/offline.json' '%s/air2/'", root, root, root);
    CHECK(system(cmd) == 0, "keys copied");
    char why[101];
    CHECK(licentia_install_activation(other, response, n, &st) == LICENTIA_E_INVALID_DOCUMENT && !st, "not on another computer");
    licentia_last_refusal(other, why, sizeof why);
    CHECK(!strcmp(why, LICENTIA_RESPONSE_INVALID_DOCUMENT), "refused as invalid_document: %s", why);
    /* Edited on the way: refused. */
    if (response) {
        char *edited = strdup(response);
        char *body = strstr(edited, "-----\n") + 6;
        body[10] = body[10] == 'A' ? 'B' : 'A';
        CHECK(licentia_install_activation(air, edited, n, &st) == LICENTIA_E_INVALID_DOCUMENT && !st, "an edited response");
        free(edited);
    }
    CHECK(licentia_install_activation(air, request, request ? strlen(request) : 0, &st) == LICENTIA_E_INVALID_DOCUMENT,
          "a request is no response");
    licentia_error rc = licentia_install_activation(air, response, n, &st);
    CHECK(rc == LICENTIA_OK && licentia_status_allowed(st) && !strcmp(licentia_status_state(st), "registered") &&
              !licentia_status_online(st),
          "installed: rc %d", rc);
    licentia_status_free(st), st = NULL;
    CHECK(licentia_check(air, 1, &st) == LICENTIA_OK && licentia_status_allowed(st) && !strcmp(licentia_status_state(st), "registered"),
          "checks answer from it offline");
    licentia_status_free(st), st = NULL;
    CHECK(licentia_install_activation(air, response, n, &st) == LICENTIA_E_INVALID_DOCUMENT, "a response installs once");
    licentia_last_refusal(air, why, sizeof why);
    CHECK(!strcmp(why, LICENTIA_RESPONSE_UNKNOWN_REQUEST), "refused as unknown_request: %s", why);
    /* A later online check goes on with the credential it brought. */
    licentia *back = open_on(url, "air", machine);
    CHECK(licentia_check(back, 1, &st) == LICENTIA_OK && licentia_status_online(st) && !strcmp(licentia_status_state(st), "registered"),
          "online later: the same installation");
    licentia_status_free(st), st = NULL;
    licentia_close(back);
    CHECK(licentia_deactivate_offline(air, &proof) == LICENTIA_OK && proof &&
              !strncmp(proof, "-----BEGIN LICENTIA DEACTIVATION PROOF-----\n", 44), "a deactivation proof");
    CHECK(licentia_deactivate_offline(air, &again) == LICENTIA_OK && again && proof && !strcmp(proof, again), "the same proof again");
    CHECK(licentia_check(air, 0, &st) == LICENTIA_OK && !licentia_status_allowed(st), "nothing held here after it");
    licentia_status_free(st);
    save("proof.txt", proof ? proof : "");
    snprintf(cmd, sizeof cmd, "license offline-deactivate '%s/proof.txt'", root);
    CHECK(cli(cmd) == 0, "the vendor frees the seat with it");
    licentia_free(again), again = NULL;
    CHECK(licentia_deactivate_offline(other, &again) == LICENTIA_E_ARGUMENT && !again, "no activation there");
    licentia_free(request), licentia_free(proof), licentia_free(again);
    free(response);
    licentia_close(air), licentia_close(other);
}

int main(void) {
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    CHECK(server_public_key(pub, sizeof pub) == 0, "public key file %s/keys/my-app.pub", server_dir);
    snprintf(machine, sizeof machine, "%s/machine", root);
    snprintf(machine2, sizeof machine2, "%s/machine2", root);
    fake_machine(machine, "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59");
    fake_machine(machine2, "0123456789abcdef0123456789abcdef");
    write_file(machine2, "sys/block/sda/device/serial", "OTHERDISK\n");
    floating();
    metered();
    entitled();
    airgapped();
    stop_server();
    return REPORT("seats, meters, entitlements, air-gapped");
}
