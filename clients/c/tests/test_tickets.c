/*
 * The installer ticket against a real `licentia serve` (SQLite in a temporary data dir): minted with the
 * server's CLI, sent by the first check of an installation, a second computer starting from the same
 * file recorded as a copy of that download, an edited ticket refused, a damaged or missing one not sent.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "licentia.h"
#include "server.h"

static char pub[256];

static licentia *open_on(const char *name, const char *machine, const char *ticket) {
    char data[400];
    licentia *h = NULL;
    snprintf(data, sizeof data, "%s/%s", root, name);
    if (licentia_open(&h, url, "my-app", pub, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, machine);
    licentia_set_option(h, LICENTIA_OPT_TIMEOUT_MS, "5000");
    if (licentia_set_option(h, LICENTIA_OPT_INSTALLER_TICKET, ticket) != LICENTIA_OK) {
        licentia_close(h);
        return NULL;
    }
    return h;
}

/* The server's record of installations started from tickets: "<device>:<copy>" lines, in order. */
static void starts(char *out, size_t size) {
    char cmd[1500];
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "print(\" \".join(f\"{d}:{k}\" for d, k in c.execute(\"SELECT device_id, copy FROM installer_ticket_starts ORDER BY id\")))' "
             "'%s/licentia.db'",
             python, server_dir);
    FILE *p = popen(cmd, "r");
    out[0] = '\0';
    if (!p) return;
    if (!fgets(out, (int)size, p)) out[0] = '\0';
    pclose(p);
    out[strcspn(out, "\r\n")] = '\0';
}

/* A check online: its status's allowed, state, clone flag and device into the caller's variables. */
static int check(licentia *h, int *allowed, char state[32], int *clone, char device[64]) {
    licentia_status *st = NULL;
    licentia_error rc = licentia_check(h, 1, &st);
    *allowed = st && licentia_status_allowed(st);
    *clone = st && licentia_status_clone_suspected(st);
    snprintf(state, 32, "%s", st && licentia_status_state(st) ? licentia_status_state(st) : "");
    snprintf(device, 64, "%s", st && licentia_status_device(st) ? licentia_status_device(st) : "");
    licentia_status_free(st);
    return rc;
}

int main(void) {
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    char path[600], cmd[1500], ticket[600], edited[600], damaged[600], missing[600], machine[400], machine2[400];
    CHECK(server_public_key(pub, sizeof pub) == 0, "public key file %s/keys/my-app.pub", server_dir);
    snprintf(machine, sizeof machine, "%s/machine", root);
    snprintf(machine2, sizeof machine2, "%s/machine2", root);
    fake_machine(machine, "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59");
    fake_machine(machine2, "0123456789abcdef0123456789abcdef");
    snprintf(ticket, sizeof ticket, "%s/download/%s", root, LICENTIA_TICKET_FILE);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/download' && '%s' -m licentia ticket mint --product my-app --out '%s' --data-dir '%s' >/dev/null",
             root, python, ticket, server_dir);
    CHECK(system(cmd) == 0, "a ticket minted with the server's CLI");
    char *text = read_file(ticket);
    CHECK(text && !licentia_ticket_problem(text, strlen(text)), "a ticket the library sends");

    /* The buyer's computer starts from it; a leaked installer on another computer is a copy of that download. */
    int allowed, clone;
    char state[32], device[64], device2[64], recorded[400], want[200], refusal[101];
    licentia *buyer = open_on("data-a", machine, ticket), *pirate = open_on("data-b", machine2, ticket);
    CHECK(buyer && pirate, "handles with the ticket's path");
    CHECK(check(buyer, &allowed, state, &clone, device) == LICENTIA_OK && allowed && !clone && *device,
          "the buyer starts: %s", state);
    starts(recorded, sizeof recorded);
    snprintf(want, sizeof want, "%s:0", device);
    CHECK(!strcmp(recorded, want), "the installation started from the ticket: '%s'", recorded);
    CHECK(check(buyer, &allowed, state, &clone, device) == LICENTIA_OK && allowed, "a second check (no ticket: a credential)");
    starts(recorded, sizeof recorded);
    CHECK(!strcmp(recorded, want), "recorded once: '%s'", recorded);
    CHECK(check(pirate, &allowed, state, &clone, device2) == LICENTIA_OK && clone && !strcmp(state, "trial") &&
              strcmp(device, device2) != 0,
          "another computer from the same download: a copy (%s, clone %d)", state, clone);
    starts(recorded, sizeof recorded);
    snprintf(want, sizeof want, "%s:0 %s:1", device, device2);
    CHECK(!strcmp(recorded, want), "recorded as a copy: '%s'", recorded);
    licentia_close(buyer), licentia_close(pirate);

    /* An edited ticket (another buyer named): refused by the server, nothing stored on either side. */
    json_t *signed_doc = json_loads(text ? text : "", 0, NULL);
    json_object_set_new(json_object_get(signed_doc, "document"), "customer", json_integer(1));
    snprintf(edited, sizeof edited, "%s/edited/%s", root, LICENTIA_TICKET_FILE);
    char *edited_text = json_dumps(signed_doc, 0);
    write_file(root, "edited/" LICENTIA_TICKET_FILE, edited_text ? edited_text : "");
    CHECK(edited_text && !licentia_ticket_problem(edited_text, strlen(edited_text)), "an edited ticket is sent (the server judges it)");
    free(edited_text);
    json_decref(signed_doc);
    licentia *forged = open_on("data-e", machine, edited);
    CHECK(check(forged, &allowed, state, &clone, device) == LICENTIA_OK && !allowed, "the edited ticket: not allowed");
    licentia_last_refusal(forged, refusal, sizeof refusal);
    CHECK(!strcmp(refusal, "invalid_installer_ticket"), "refused: '%s'", refusal);
    snprintf(path, sizeof path, "%s/data-e/state.json", root);
    CHECK(access(path, F_OK) != 0, "no state stored");
    starts(recorded, sizeof recorded);
    CHECK(!strcmp(recorded, want), "no installation started: '%s'", recorded);
    licentia_close(forged);

    /* A damaged file is not sent, a missing one is none: a first contact as without a ticket. */
    snprintf(damaged, sizeof damaged, "%s/damaged.json", root);
    if (text) text[strlen(text) > 20 ? strlen(text) - 20 : 0] = '\0';
    write_file(root, "damaged.json", text ? text : "");
    CHECK(text && !strcmp(licentia_ticket_problem(text, strlen(text)), "not UTF-8 JSON"), "the damaged file's problem");
    snprintf(missing, sizeof missing, "%s/nowhere.json", root);
    licentia *broken = open_on("data-d", machine, damaged), *none = open_on("data-m", machine, missing);
    CHECK(check(broken, &allowed, state, &clone, device) == LICENTIA_OK && allowed && !strcmp(state, "trial"),
          "a damaged ticket: started without it (%s)", state);
    CHECK(check(none, &allowed, state, &clone, device) == LICENTIA_OK && allowed, "a missing ticket: started without it");
    starts(recorded, sizeof recorded);
    CHECK(!strcmp(recorded, want), "neither started from a ticket: '%s'", recorded);
    licentia_close(broken), licentia_close(none);
    CHECK(licentia_set_option(NULL, LICENTIA_OPT_INSTALLER_TICKET, ticket) == LICENTIA_E_ARGUMENT, "no handle");
    free(text);
    stop_server();
    return REPORT("installer tickets");
}
