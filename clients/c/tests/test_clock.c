/*
 * The client on a machine whose clock is off, against a real `licentia serve` on the true time:
 * each check runs in a child process (tests/probe.c) under Debian's faketime. Hours or days
 * behind or ahead, the online check works and the offline checks after it are allowed, judged on
 * the server's time (the offset the bound answer measured); a clock wound back after a check
 * still answers clock_rollback. Skipped, saying so, when faketime is not installed.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "licentia.h"
#include "server.h"

#define UNREACHABLE "http://127.0.0.1:9"

static char pub[256];

typedef struct {
    int rc, allowed, online;
    long days_left;
    char state[32], reason[32];
} probed;

/* One check (online != 0: try the server first) of the installation <root>/<name> on `machine`, the clock moved by `skew`. */
static int probe(const char *skew, const char *server, const char *name, const char *machine, int online, probed *out) {
    char cmd[2000];
    memset(out, 0, sizeof *out);
    out->rc = -1;
    /* faketime preloads itself: AddressSanitizer must then not insist on being the first library */
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\" "
             "faketime --exclude-monotonic -f '%s' '%s' '%s' '%s' '%s/%s' '%s' %d",
             skew, PROBE, server, pub, root, name, machine, online);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int n = fscanf(p, "%d %d %d %ld %31s %31s", &out->rc, &out->allowed, &out->online, &out->days_left, out->state,
                   out->reason);
    int status = pclose(p);
    return n == 6 && status == 0 ? 0 : -1;
}

/* The offset kept in the installation's sealed state (99999999 when there is none). */
static long long kept_offset(const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s/state.json", root, name);
    json_t *outer = json_load_file(path, 0, NULL);
    const json_t *body = json_object_get(outer, "state");
    json_t *fields = json_is_string(body) ? json_loads(json_string_value(body), 0, NULL) : NULL;
    const json_t *offset = json_object_get(fields, "clock_offset");
    long long kept = json_is_integer(offset) ? json_integer_value(offset) : 99999999;
    json_decref(fields);
    json_decref(outer);
    return kept;
}

int main(void) {
    if (system("command -v faketime >/dev/null 2>&1") != 0) {
        fprintf(stderr, "clock: SKIPPED, faketime is not installed (Debian: apt-get install faketime)\n");
        return 0;
    }
    if (start_server() != 0) {
        fprintf(stderr, "could not start licentia serve with %s\n", python);
        return 2;
    }
    CHECK(server_public_key(pub, sizeof pub) == 0, "public key file %s/keys/my-app.pub", server_dir);

    static const struct {
        const char *skew, *name, *machine_id;
        long long offset; /* what the server's time is ahead of this clock */
    } clocks[] = {
        {"-5h", "behind-5h", "a1b2c3d4000000000000000000000001", 5 * 3600},
        {"-2d", "behind-2d", "b1c2d3e4000000000000000000000002", 2 * 86400},
        {"+5h", "ahead-5h", "c1d2e3f4000000000000000000000003", -5 * 3600},
    };
    size_t count = sizeof clocks / sizeof clocks[0];
    probed on[3];
    char machine[3][400];
    for (size_t i = 0; i < count; i++) {
        const char *skew = clocks[i].skew, *name = clocks[i].name;
        snprintf(machine[i], sizeof machine[i], "%s/machine-%s", root, name);
        fake_machine(machine[i], clocks[i].machine_id);
        CHECK(probe(skew, url, name, machine[i], 1, &on[i]) == 0 && on[i].rc == LICENTIA_OK && on[i].online &&
                  on[i].allowed && !strcmp(on[i].state, "trial"),
              "clock %s: online check (rc %d, online %d, %s)", skew, on[i].rc, on[i].online, on[i].state);
        long long offset = kept_offset(name);
        CHECK(offset >= clocks[i].offset - 120 && offset <= clocks[i].offset + 120, "clock %s: offset kept %lld, want ~%lld",
              skew, offset, clocks[i].offset);
    }
    /* The offset is rounded up from a time the server gave cut to the second: the server's time it tells
     * is never behind the server's own, so the days left offline are exactly those the server said. */
    for (size_t i = 0; i < count; i++) {
        const char *skew = clocks[i].skew, *name = clocks[i].name;
        probed off;
        /* The server unreachable: the stored document, at the server's time (a trial of as many days left as it said). */
        CHECK(probe(skew, UNREACHABLE, name, machine[i], 1, &off) == 0 && off.rc == LICENTIA_OK && !off.online &&
                  off.allowed && !strcmp(off.state, on[i].state) && off.days_left == on[i].days_left,
              "clock %s: offline after (%s/%s, %ld days left, online said %ld)", skew, off.state, off.reason, off.days_left,
              on[i].days_left);
        CHECK(probe(skew, UNREACHABLE, name, machine[i], 0, &off) == 0 && off.rc == LICENTIA_OK && off.allowed &&
                  off.days_left == on[i].days_left,
              "clock %s: offline again (%s/%s)", skew, off.state, off.reason);
    }

    /* The clock 5 hours behind, then wound back: five minutes are inside the tolerance, three hours are not. */
    probed back;
    CHECK(probe("-305m", UNREACHABLE, "behind-5h", machine[0], 1, &back) == 0 && back.allowed && !strcmp(back.state, "trial"),
          "wound back five minutes: %s/%s", back.state, back.reason);
    CHECK(probe("-8h", UNREACHABLE, "behind-5h", machine[0], 1, &back) == 0 && !back.allowed &&
              !strcmp(back.state, "clock_rollback") && !strcmp(back.reason, "clock_rollback"),
          "wound back three hours after the check: %s/%s", back.state, back.reason);

    stop_server();
    return REPORT("clock off");
}
