/*
 * The C library against a fake server (tests/fake_server.py) that answers with genuine documents,
 * signed by the key the client pins, to the wrong request: saved long ago, issued days ahead,
 * carrying another nonce, for another installation or another machine. Each is refused online
 * (LICENTIA_E_INVALID_DOCUMENT, the reason in licentia_last_refusal), the state file stays byte for
 * byte what it was, and the offline check afterwards answers what it answered before.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "licentia.h"
#include "server.h"
#include "platform.h"
#include "state.h"

static char pub[256], machine[400];

/* A handle on the fake server answering in `mode`, for the installation in <root>/<name> on `machine`. */
static licentia *open_mode(const char *mode, const char *name) {
    char base[128], data[400];
    licentia *h = NULL;
    snprintf(base, sizeof base, "%s/%s", url, mode);
    snprintf(data, sizeof data, "%s/%s", root, name);
    if (licentia_open(&h, base, "my-app", pub, data) != LICENTIA_OK) return NULL;
    licentia_set_option(h, LICENTIA_OPT_FINGERPRINT_ROOT, machine);
    return h;
}

/* What a status says, kept after it is freed. */
typedef struct {
    int allowed, online;
    long days_left;
    char state[32], reason[32], device[64];
} seen;

static seen see(const licentia_status *st) {
    seen s;
    memset(&s, 0, sizeof s);
    if (!st) return s;
    s.allowed = licentia_status_allowed(st), s.online = licentia_status_online(st);
    s.days_left = licentia_status_days_left(st);
    snprintf(s.state, sizeof s.state, "%s", licentia_status_state(st));
    snprintf(s.reason, sizeof s.reason, "%s", licentia_status_reason(st) ? licentia_status_reason(st) : "");
    snprintf(s.device, sizeof s.device, "%s", licentia_status_device(st) ? licentia_status_device(st) : "");
    return s;
}

static int same(const seen *a, const seen *b) {
    return a->allowed == b->allowed && a->online == b->online && a->days_left == b->days_left && !strcmp(a->state, b->state) &&
           !strcmp(a->reason, b->reason) && !strcmp(a->device, b->device);
}

static seen check(licentia *h, int online, licentia_error *rc) {
    licentia_status *st = NULL;
    *rc = licentia_check(h, online, &st);
    seen s = see(st);
    licentia_status_free(st);
    return s;
}

/* A well-formed license key (its check character right); the fake server takes any. */
static void some_key(char key[30]) {
    const char *alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    snprintf(key, 30, "7KQ2M-AAAAA-BBBBB-CCCCC-DDDDA");
    for (const char *c = alphabet; *c; c++) {
        key[28] = *c;
        if (licentia_normalize_key(key, NULL) == LICENTIA_OK) return;
    }
}

int main(void) {
    if (start_fake_server() != 0) {
        fprintf(stderr, "could not start tests/fake_server.py with %s\n", python);
        return 2;
    }
    char path[600], key[30], refusal[101];
    snprintf(path, sizeof path, "%s/fake.pub", server_dir);
    char *text = read_file(path);
    CHECK(text && !strncmp(text, "ed25519:", 8), "the fake server's public key");
    snprintf(pub, sizeof pub, "%s", text ? text : "");
    pub[strcspn(pub, "\r\n")] = '\0';
    free(text);
    snprintf(machine, sizeof machine, "%s/machine", root);
    fake_machine(machine, "5a6b7c8d9e0f11223344556677889900");
    some_key(key);
    licentia_error rc;

    /* The answers a real server gives are taken: first contact, then the credential's device. */
    licentia *honest = open_mode("honest", "data");
    seen first = check(honest, 1, &rc);
    CHECK(rc == LICENTIA_OK && first.online && first.allowed && !strcmp(first.state, "trial") && first.device[0],
          "an honest first contact: %s", first.state);
    seen again = check(honest, 1, &rc);
    CHECK(rc == LICENTIA_OK && again.online && !strcmp(again.device, first.device), "an honest check: %s", again.device);
    seen before = check(honest, 0, &rc);
    CHECK(rc == LICENTIA_OK && !before.online && before.allowed && !strcmp(before.state, "trial"), "offline before: %s",
          before.state);
    snprintf(path, sizeof path, "%s/data/state.json", root);
    char *state_before = read_file(path);
    CHECK(state_before && strstr(state_before, "\"mac\":"), "a sealed state to keep");

    /* Genuine documents answering another request: refused online, nothing stored, the stored document answers. */
    static const struct {
        const char *mode, *why;
    } replays[] = {
        {"replay-2020", LICENTIA_ANSWER_NONCE_MISMATCH},  /* a registered answer of 2020, no nonce */
        {"older-nonce", LICENTIA_ANSWER_NONCE_MISMATCH},  /* a registered answer of 30 days ago, an earlier nonce */
        {"future", LICENTIA_ANSWER_NONCE_MISMATCH},       /* a registered answer issued two days ahead */
        {"wrong-nonce", LICENTIA_ANSWER_NONCE_MISMATCH},  /* fresh, but one character of the nonce off */
        {"other-installation", LICENTIA_ANSWER_OTHER_INSTALLATION}, /* this request's nonce, another device */
        {"other-machine", LICENTIA_ANSWER_OTHER_MACHINE}, /* this request's nonce and device, another machine */
    };
    for (size_t i = 0; i < sizeof replays / sizeof replays[0]; i++) {
        const char *mode = replays[i].mode, *why = replays[i].why;
        licentia *fake = open_mode(mode, "data");
        seen online = check(fake, 1, &rc);
        licentia_last_refusal(fake, refusal, sizeof refusal);
        CHECK(rc == LICENTIA_OK && same(&online, &before) && !strcmp(refusal, why),
              "%s: check answers offline (%s, %ld days, %s, online %d), refused as %s", mode, online.state, online.days_left,
              refusal, online.online, why);
        licentia_status *st = NULL;
        rc = licentia_activate(fake, key, &st);
        licentia_last_refusal(fake, refusal, sizeof refusal);
        CHECK(rc == LICENTIA_E_INVALID_DOCUMENT && !st && !strcmp(refusal, why), "%s: activation refused (rc %d, %s)", mode,
              rc, refusal);
        licentia_status_free(st);
        st = NULL;
        rc = licentia_deactivate(fake, &st);
        licentia_last_refusal(fake, refusal, sizeof refusal);
        CHECK(rc == LICENTIA_E_INVALID_DOCUMENT && !st && !strcmp(refusal, why), "%s: deactivation refused (rc %d, %s)",
              mode, rc, refusal);
        licentia_status_free(st);
        char *state_after = read_file(path);
        CHECK(state_before && state_after && !strcmp(state_before, state_after), "%s: the state file unchanged", mode);
        free(state_after);
        seen after = check(fake, 0, &rc);
        CHECK(rc == LICENTIA_OK && same(&after, &before), "%s: offline after as before (%s, %ld days; before %ld)", mode, after.state,
              after.days_left, before.days_left);
        licentia_close(fake);
    }

    /* A first contact whose answer carries no credential: another installation's answer; nothing stored. */
    licentia *fresh = open_mode("no-credential", "fresh");
    seen none = check(fresh, 1, &rc);
    licentia_last_refusal(fresh, refusal, sizeof refusal);
    CHECK(rc == LICENTIA_OK && !none.allowed && !none.online && !strcmp(none.reason, "no_document") &&
              !strcmp(refusal, LICENTIA_ANSWER_OTHER_INSTALLATION),
          "first contact without a credential: %s, %s", none.reason, refusal);
    struct stat sb;
    snprintf(path, sizeof path, "%s/fresh/state.json", root);
    CHECK(stat(path, &sb) != 0, "no state written for a refused first contact");
    licentia_close(fresh);

    /* A credential outside the signature that would smuggle a header: refused in the answer (nothing
     * stored), and one planted in a state file (sealed with its own secret) is never sent. */
    licentia *crlf = open_mode("crlf-credential", "crlf");
    seen smuggled = check(crlf, 1, &rc);
    licentia_last_refusal(crlf, refusal, sizeof refusal);
    snprintf(path, sizeof path, "%s/crlf/state.json", root);
    CHECK(rc == LICENTIA_OK && !smuggled.online && !smuggled.allowed && stat(path, &sb) != 0 &&
              !strcmp(refusal, LICENTIA_ANSWER_OTHER_INSTALLATION),
          "a CR/LF secret in an answer is no credential: %s, %s", smuggled.reason, refusal);
    licentia_close(crlf);
    char planted_dir[400];
    snprintf(planted_dir, sizeof planted_dir, "%s/planted", root);
    mkdir(planted_dir, 0700);
    lc_state planted;
    memset(&planted, 0, sizeof planted);
    planted.device = strdup("dv_0123456789abcdef");
    planted.secret = strdup("s3cret\r\nX-Injected: yes");
    planted.install_reported = 1;
    CHECK(lc_state_save(planted_dir, &planted) == LICENTIA_OK, "a planted state");
    lc_state_clear(&planted);
    licentia *victim = open_mode("honest", "planted");
    seen refused = check(victim, 1, &rc);
    CHECK(rc == LICENTIA_OK && !refused.online && !refused.allowed, "a planted CR/LF secret: the check answers offline (%s)",
          refused.reason);
    char *value = NULL;
    CHECK(licentia_value_get(victim, "k", NULL, &value) == LICENTIA_E_OFFLINE && !value, "nor is it sent for a value");
    free(value);
    CHECK(licentia_flush(victim, NULL) == LICENTIA_OK, "flush with a planted secret");
    licentia_close(victim);
    snprintf(path, sizeof path, "%s/injected", server_dir);
    CHECK(stat(path, &sb) != 0, "no request ever carried the smuggled header");

    /* A clock that once ran ten days ahead and was put right: offline, that is a rollback (last_seen is
     * ten days ahead), until the next online check, whose bound answer brings last_seen back to now. */
    licentia *ahead = open_mode("honest", "ahead");
    char later_iso[21];
    lc_format_iso(lc_realtime_ms() + 10LL * 86400 * 1000, later_iso);
    CHECK(licentia_set_option(ahead, LICENTIA_OPT_NOW, later_iso) == LICENTIA_OK, "a clock ten days ahead");
    seen far = check(ahead, 1, &rc);
    CHECK(rc == LICENTIA_OK && far.online && far.allowed, "online ten days ahead: %s", far.state);
    far = check(ahead, 0, &rc);
    CHECK(rc == LICENTIA_OK && far.allowed, "offline ten days ahead: %s", far.state);
    licentia_set_option(ahead, LICENTIA_OPT_NOW, "");
    seen back = check(ahead, 0, &rc);
    CHECK(rc == LICENTIA_OK && !back.allowed && !strcmp(back.reason, "clock_rollback"), "put right, offline: %s", back.reason);
    back = check(ahead, 1, &rc);
    CHECK(rc == LICENTIA_OK && back.online && back.allowed, "put right, online: %s", back.state);
    back = check(ahead, 0, &rc);
    CHECK(rc == LICENTIA_OK && back.allowed && !strcmp(back.state, "trial"), "healed: offline after the online check: %s (%s)",
          back.state, back.reason);
    licentia_close(ahead);

    /* The latest release: the signed one in the status without its plain-http link; the unsigned
     * answer only with its known fields, its link only when https. */
    licentia_status *rs = NULL;
    CHECK(licentia_check(honest, 1, &rs) == LICENTIA_OK && licentia_status_release_version(rs) &&
              !strcmp(licentia_status_release_version(rs), "2.0.0") && !strcmp(licentia_status_release_channel(rs), "stable") &&
              !licentia_status_release_download_url(rs),
          "the signed release, its http link dropped");
    licentia_status_free(rs);
    char *release = NULL;
    CHECK(licentia_latest_release(honest, &release) == LICENTIA_OK && release &&
              !strcmp(release, "{\"version\":\"2.0.0\",\"channel\":\"stable\",\"released_at\":\"2026-11-02T10:00:00Z\","
                               "\"download_url\":null,\"notes\":\"Faster.\",\"newer\":true}"),
          "the known fields only, no http link: %s", release ? release : "-");
    licentia_free(release), release = NULL;
    licentia *https_release = open_mode("https-release", "data");
    CHECK(licentia_latest_release(https_release, &release) == LICENTIA_OK && release &&
              strstr(release, "\"download_url\":\"https://downloads.example/app-2.0.0.tar.gz\"") && !strstr(release, "script"),
          "an https link is kept: %s", release ? release : "-");
    licentia_free(release);
    licentia_close(https_release);

    /* Floating seats and meters against a hostile server: a lease is taken only when its signed
     * document answers this request for this machine; garbage and absurd nesting are no answer. */
    licentia *seat = open_mode("lease-honest", "seat");
    licentia_lease *lease = NULL;
    rc = licentia_checkout(seat, key, 0, &lease);
    CHECK(rc == LICENTIA_OK && licentia_lease_valid(lease) && licentia_lease_has_feature(lease, "pro") &&
              !strcmp(licentia_lease_entitlement_string(lease, "edition", "-"), "pro") && licentia_lease_heartbeat_seconds(lease) == 20,
          "an honest lease: rc %d", rc);
    CHECK(licentia_lease_heartbeat(seat, lease) == LICENTIA_OK && licentia_lease_valid(lease), "an honest heartbeat");
    CHECK(licentia_lease_release(seat, lease) == LICENTIA_OK && !licentia_lease_valid(lease), "released");
    licentia_lease_free(lease), lease = NULL;
    licentia_close(seat);
    static const struct {
        const char *mode, *why;
        licentia_error rc;
    } leases[] = {
        {"lease-replay", LICENTIA_ANSWER_NONCE_MISMATCH, LICENTIA_E_INVALID_DOCUMENT}, /* another request's lease */
        {"lease-other", LICENTIA_ANSWER_OTHER_LEASE, LICENTIA_E_INVALID_DOCUMENT},     /* names another lease outside */
        {"garbage", "", LICENTIA_E_OFFLINE},                                            /* not JSON */
        {"deep", "", LICENTIA_E_OFFLINE},                                               /* nested 100000 deep */
    };
    for (size_t i = 0; i < sizeof leases / sizeof *leases; i++) {
        licentia *hostile = open_mode(leases[i].mode, "seat");
        rc = licentia_checkout(hostile, key, 0, &lease);
        licentia_last_refusal(hostile, refusal, sizeof refusal);
        CHECK(rc == leases[i].rc && !lease && !strcmp(refusal, leases[i].why), "%s: no lease (rc %d, %s)", leases[i].mode, rc, refusal);
        licentia_close(hostile);
    }
    licentia_consumption figures;
    licentia *meter = open_mode("garbage", "seat");
    CHECK(licentia_consume(meter, "renders", 1, NULL, &figures) == LICENTIA_E_INVALID_DOCUMENT, "figures of the wrong type");
    licentia_close(meter);
    meter = open_mode("deep", "seat");
    CHECK(licentia_consume(meter, "renders", 1, NULL, &figures) == LICENTIA_E_OFFLINE, "nested 100000 deep: no answer");
    licentia_close(meter);
    meter = open_mode("quota", "seat");
    rc = licentia_consume(meter, "renders", 1, NULL, &figures);
    CHECK(rc == LICENTIA_E_QUOTA_EXCEEDED && figures.remaining == 0 && figures.limit == 5 && figures.used == 5 &&
              !strcmp(figures.period_end, "2027-01-01T00:00:00Z") && !strcmp(figures.meter, "renders"),
          "past the limit, with the figures: rc %d", rc);
    licentia_close(meter);

    /* Every request said the client's version and the protocol it speaks. */
    snprintf(path, sizeof path, "%s/unversioned", server_dir);
    char *unversioned = read_file(path);
    CHECK(!unversioned, "every request carried Licentia-Protocol and the User-Agent: %s", unversioned ? unversioned : "");
    free(unversioned);

    /* The honest server is still believed after all that. */
    seen later = check(honest, 1, &rc);
    CHECK(rc == LICENTIA_OK && later.online && !strcmp(later.state, "trial") && !strcmp(later.device, first.device),
          "honest again: %s", later.state);
    licentia_status *st = NULL;
    CHECK(licentia_activate(honest, key, &st) == LICENTIA_OK && licentia_status_online(st) &&
              !strcmp(licentia_status_state(st), "registered"),
          "an honest activation");
    licentia_status_free(st);
    licentia_close(honest);
    free(state_before);
    stop_server();
    return REPORT("answers to another request");
}
