/*
 * Signing the user in by the device flow (RFC 8628) against a real `licentia serve`: the application
 * drives the wait (one licentia_sign_in_poll per call), the person's decision is made as the portal
 * makes it (clients/testing/decide_sign_in.py, in the server's database). Started and always reaped here.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "licentia.h"
#include "server.h"

#ifndef DECIDE_SIGN_IN
#define DECIDE_SIGN_IN "../testing/decide_sign_in.py"
#endif

#define LEAD "lead@team.example"

static char pub[256];

static licentia *app(const char *name, const char *machine_id) {
    char data[400], machine[400];
    licentia *h = NULL;
    snprintf(data, sizeof data, "%s/data-%s", root, name);
    snprintf(machine, sizeof machine, "%s/machine-%s", root, name);
    fake_machine(machine, machine_id);
    if (licentia_open(&h, url, "my-app", pub, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, machine);
    licentia_set_option(h, LICENTIA_OPT_TIMEOUT_MS, "5000");
    return h;
}

static int run(const char *command) {
    return system(command);
}

/* The person approves or denies the code as the portal would ("expire": nobody confirmed in time); 0 when done. */
static int decide(const char *action, const char *user_code, const char *email) {
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s/licentia.db' %s '%s' '%s'", python, DECIDE_SIGN_IN, server_dir, action, user_code,
             email);
    return run(cmd);
}

static licentia_sign_in_result poll(licentia *h, licentia_sign_in *s, licentia_error *rc, licentia_status **out) {
    licentia_sign_in_result result = LICENTIA_SIGN_IN_PENDING;
    *rc = licentia_sign_in_poll(h, s, &result, out);
    return result;
}

static void signed_in(void) {
    licentia *h = app("laptop", "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59");
    licentia_status *st = NULL;
    CHECK(licentia_check(h, 1, &st) == LICENTIA_OK && licentia_status_user(st) == NULL, "no user before a sign-in");
    licentia_status_free(st), st = NULL;
    licentia_sign_in *s = NULL;
    licentia_error rc = licentia_sign_in_begin(h, &s);
    CHECK(rc == LICENTIA_OK && s, "begin: %d", rc);
    if (!s) return;
    const char *code = licentia_sign_in_user_code(s);
    CHECK(strlen(code) == 9 && strstr(licentia_sign_in_verification_uri(s), "/portal/device") &&
              strstr(licentia_sign_in_verification_uri_complete(s), "?code=") && licentia_sign_in_expires_in(s) == 900 &&
              licentia_sign_in_interval(s) == 1,
          "the code to show: %s %s %ld", code, licentia_sign_in_verification_uri(s), licentia_sign_in_interval(s));
    CHECK(licentia_sign_in_poll(h, s, NULL, &st) == LICENTIA_E_ARGUMENT, "no result: an argument error");
    /* The first poll: not yet. The next one at once: too soon, and the interval grows by 5 seconds. */
    CHECK(poll(h, s, &rc, &st) == LICENTIA_SIGN_IN_PENDING && rc == LICENTIA_OK && !st, "pending: %d", rc);
    CHECK(poll(h, s, &rc, &st) == LICENTIA_SIGN_IN_SLOW_DOWN && rc == LICENTIA_OK && licentia_sign_in_interval(s) == 6,
          "slow down: %d, interval %ld", rc, licentia_sign_in_interval(s));
    CHECK(decide("approve", code, LEAD) == 0, "the person approves");
    CHECK(poll(h, s, &rc, &st) == LICENTIA_SIGN_IN_DONE && rc == LICENTIA_OK && st, "done: %d", rc);
    CHECK(st && !strcmp(licentia_status_state(st), "registered") && licentia_status_allowed(st) && licentia_status_online(st) &&
              licentia_status_user(st) && !strcmp(licentia_status_user(st), LEAD),
          "the status names the user");
    licentia_status_free(st), st = NULL;
    licentia_sign_in_free(s);
    CHECK(licentia_check(h, 0, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "registered") &&
              licentia_status_user(st) && !strcmp(licentia_status_user(st), LEAD),
          "offline, the stored document names the user");
    licentia_status_free(st), st = NULL;
    CHECK(licentia_check(h, 1, &st) == LICENTIA_OK && licentia_status_user(st) && !strcmp(licentia_status_user(st), LEAD),
          "and online");
    licentia_status_free(st);
    char path[500];
    snprintf(path, sizeof path, "%s/data-laptop/state.json", root);
    char *saved = read_file(path);
    CHECK(saved && !strstr(saved, "device_code"), "the device code is not written to disk");
    free(saved);
    licentia_close(h);
}

static void refused(void) {
    char word[101];
    licentia *h = app("desktop", "0123456789abcdef0123456789abcdef");
    licentia_status *st = NULL;
    licentia_sign_in *s = NULL, *late = NULL;
    licentia_error rc;
    CHECK(licentia_sign_in_begin(h, &s) == LICENTIA_OK && s, "begin at first contact");
    if (!s) return;
    CHECK(decide("deny", licentia_sign_in_user_code(s), LEAD) == 0, "the person refuses");
    CHECK(poll(h, s, &rc, &st) == LICENTIA_SIGN_IN_REFUSED && rc == LICENTIA_E_REFUSED && !st, "refused: %d", rc);
    licentia_last_refusal(h, word, sizeof word);
    CHECK(!strcmp(word, LICENTIA_REFUSAL_ACCESS_DENIED), "access_denied: %s", word);
    CHECK(licentia_sign_in_begin(h, &late) == LICENTIA_OK && late, "a second code");
    if (late) {
        CHECK(decide("expire", licentia_sign_in_user_code(late), "") == 0, "nobody confirms in time");
        CHECK(poll(h, late, &rc, &st) == LICENTIA_SIGN_IN_REFUSED && rc == LICENTIA_E_REFUSED, "expired: %d", rc);
        licentia_last_refusal(h, word, sizeof word);
        CHECK(!strcmp(word, LICENTIA_REFUSAL_EXPIRED_TOKEN), "expired_token: %s", word);
    }
    licentia_sign_in_free(s), licentia_sign_in_free(late);
    CHECK(licentia_check(h, 1, &st) == LICENTIA_OK && !strcmp(licentia_status_state(st), "trial") && !licentia_status_user(st),
          "the application stays as it was");
    licentia_status_free(st);
    licentia_close(h);
}

int main(void) {
    setenv("LICENTIA_DEVICE_POLL_SECONDS", "1", 1); /* the server's interval: the test waits for nothing */
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    char cmd[1200];
    CHECK(server_public_key(pub, sizeof pub) == 0, "public key file %s/keys/my-app.pub", server_dir);
    snprintf(cmd, sizeof cmd,
             "'%s' -m licentia policy create my-app Team --set seat_unit=user --set max_devices=2 --set machines_per_user=2 "
             "--data-dir '%s' >/dev/null && '%s' -m licentia license issue --product my-app --policy Team --email " LEAD
             " --data-dir '%s' >/dev/null",
             python, server_dir, python, server_dir);
    CHECK(run(cmd) == 0, "a license whose seats are users");
    signed_in();
    refused();
    stop_server();
    return REPORT("sign-in");
}
