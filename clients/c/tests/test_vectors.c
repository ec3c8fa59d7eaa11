/* The C library against the conformance vectors generated from the Python core. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include <sodium.h>

#include "handle.h"
#include "hardware.h"
#include "internal.h"

#ifndef VECTORS
#define VECTORS "../../conformance/vectors.json"
#endif

static const char *str(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }

static char *keys_text(const json_t *pinned) {
    lc_buf buf = {0};
    for (size_t i = 0; i < json_array_size(pinned); i++) {
        if (i) lc_buf_puts(&buf, "\n");
        lc_buf_puts(&buf, json_string_value(json_array_get(pinned, i)));
    }
    return lc_buf_take(&buf);
}

static void canonical_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const json_t *input = json_object_get(c, "json");
        json_t *value = lc_parse(json_string_value(input), json_string_length(input));
        lc_buf out = {0};
        int ok = value && lc_canonical(value, &out) == 0;
        if (json_is_true(json_object_get(c, "error"))) {
            CHECK(!ok, "canonical: %s", str(c, "name"));
        } else {
            const json_t *want = json_object_get(c, "canonical");
            CHECK(ok && out.len == json_string_length(want) && memcmp(out.data, json_string_value(want), out.len) == 0,
                  "canonical: %s", str(c, "name"));
        }
        lc_buf_free(&out);
        json_decref(value);
    }
}

static void signature_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char *keys = keys_text(json_object_get(c, "pinned"));
        const char *at = str(c, "at");
        long long at_ms = 0;
        if (at) lc_parse_iso(at, &at_ms);
        const json_t *signed_text = json_object_get(c, "signed");
        char *payload = NULL;
        licentia_error rc = licentia_verify_document(json_string_value(signed_text), json_string_length(signed_text), keys,
                                                     str(c, "product"), at ? at_ms / 1000 : LICENTIA_NO_TIME, &payload);
        if (json_is_true(json_object_get(c, "valid"))) {
            const char *want = str(c, "payload_canonical");
            CHECK(rc == LICENTIA_OK && payload && strcmp(payload, want) == 0, "signature: %s (rc %d)", str(c, "name"), rc);
        } else {
            CHECK(rc == LICENTIA_E_INVALID_DOCUMENT && !payload, "signature: %s (rc %d)", str(c, "name"), rc);
        }
        licentia_free(payload);
        free(keys);
    }
}

static void presented_from(const json_t *components, const char *data_path, lc_fingerprint *fp) {
    const char *name;
    json_t *value;
    memset(fp, 0, sizeof *fp);
    json_object_foreach((json_t *)components, name, value) {
        snprintf(fp->items[fp->count].name, sizeof fp->items[0].name, "%s", name);
        snprintf(fp->items[fp->count].value, LC_HASH_HEX, "%s", json_string_value(value));
        fp->count++;
    }
    snprintf(fp->data_path, LC_HASH_HEX, "%s", data_path ? data_path : "");
}

static void fingerprint_cases(const json_t *section) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(section, "hashes"), i, c) {
        char out[LC_HASH_HEX];
        const json_t *raw = json_object_get(c, "raw");
        lc_component_hash(str(c, "product"), str(c, "name"), json_string_value(raw), json_string_length(raw), out);
        CHECK(strcmp(out, str(c, "hash")) == 0, "hash: %s %s", str(c, "name"), json_string_value(raw));
    }
    json_array_foreach(json_object_get(section, "matching"), i, c) {
        lc_fingerprint fp;
        long long k = json_integer_value(json_object_get(c, "min_match"));
        presented_from(json_object_get(c, "presented"), "", &fp);
        CHECK((json_int_t)lc_required_matches(&fp, k) == json_integer_value(json_object_get(c, "required")), "required: %s",
              str(c, "name"));
        CHECK(lc_matches(json_object_get(c, "stored"), &fp, k) == json_is_true(json_object_get(c, "matches")), "match: %s",
              str(c, "name"));
    }
}

static void license_key_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char *normalized = NULL;
        licentia_error rc = licentia_normalize_key(str(c, "input"), &normalized);
        if (json_is_true(json_object_get(c, "valid")))
            CHECK(rc == LICENTIA_OK && strcmp(normalized, str(c, "normalized")) == 0, "key: %s", str(c, "name"));
        else
            CHECK(rc == LICENTIA_E_INVALID_KEY && !normalized, "key: %s", str(c, "name"));
        licentia_free(normalized);
    }
}

/* A status as the vectors' `expected` has it: allowed, state, reason, days_left (null: -1), features. */
static int same_status(const licentia_status *st, const json_t *want) {
    const json_t *reason = json_object_get(want, "reason"), *days = json_object_get(want, "days_left");
    const json_t *features = json_object_get(want, "features");
    int same_features = st && st->feature_count == json_array_size(features);
    for (size_t f = 0; same_features && f < st->feature_count; f++)
        same_features = strcmp(st->features[f], json_string_value(json_array_get(features, f))) == 0;
    return st && st->allowed == json_is_true(json_object_get(want, "allowed")) && strcmp(st->state, str(want, "state")) == 0 &&
           (json_is_null(reason) ? st->reason == NULL : (st->reason && strcmp(st->reason, json_string_value(reason)) == 0)) &&
           (json_is_null(days) ? st->days_left == -1 : st->days_left == json_integer_value(days)) && same_features;
}

static void offline_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char *keys_str = keys_text(json_object_get(c, "pinned"));
        lc_keyset keys;
        lc_keyset_parse(keys_str, &keys);
        const json_t *signed_text = json_object_get(c, "signed");
        json_t *signed_doc = json_is_string(signed_text) ? lc_parse(json_string_value(signed_text), json_string_length(signed_text)) : NULL;
        const json_t *fpj = json_object_get(c, "fingerprint");
        lc_fingerprint fp;
        presented_from(json_object_get(fpj, "components"), str(fpj, "data_path"), &fp);
        long long now, last_seen = LC_NO_TIME;
        lc_parse_iso(str(c, "now"), &now);
        if (str(c, "last_seen")) lc_parse_iso(str(c, "last_seen"), &last_seen);
        long long tolerance = json_integer_value(json_object_get(c, "rollback_tolerance_seconds")) * 1000;
        const json_t *offset = json_object_get(c, "offset_seconds");
        CHECK(json_is_integer(offset), "offline: %s carries offset_seconds", str(c, "name"));
        /* A stored text that is not JSON is the same as a document that does not verify. */
        licentia_status *st = json_is_string(signed_text) && !signed_doc
                                  ? lc_denied("invalid_document", NULL, 0)
                                  : lc_decide_offline(signed_doc, &keys, str(c, "product"), &fp, now, last_seen, tolerance,
                                                      json_integer_value(offset));
        CHECK(same_status(st, json_object_get(c, "expected")), "offline: %s (got %s/%s/%ld)", str(c, "name"),
              st ? st->state : "-", st && st->reason ? st->reason : "null", st ? st->days_left : 0);
        licentia_status_free(st);
        json_decref(signed_doc);
        lc_keyset_free(&keys);
        free(keys_str);
    }
}

/* The client's acceptance of a server's answer (what accept_answer in client.c runs on a real one). */
static void online_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char *keys_str = keys_text(json_object_get(c, "pinned"));
        lc_keyset keys;
        lc_keyset_parse(keys_str, &keys);
        const json_t *request = json_object_get(c, "request"), *known_text = json_object_get(request, "known");
        const json_t *answer_text = json_object_get(c, "answer");
        json_t *known = json_is_string(known_text) ? lc_parse(json_string_value(known_text), json_string_length(known_text)) : NULL;
        json_t *answer = lc_parse(json_string_value(answer_text), json_string_length(answer_text));
        const json_t *fpj = json_object_get(c, "fingerprint");
        lc_fingerprint fp;
        presented_from(json_object_get(fpj, "components"), str(fpj, "data_path"), &fp);
        lc_asked asked = {{0}, str(request, "device"), known};
        snprintf(asked.nonce, sizeof asked.nonce, "%s", str(request, "nonce"));
        CHECK(strlen(asked.nonce) == strlen(str(request, "nonce")), "online: %s: the nonce fits", str(c, "name"));
        long long now = 0;
        lc_parse_iso(str(c, "now"), &now);
        lc_answer taken;
        licentia_error rc = lc_accept_answer(answer, &asked, &keys, str(c, "product"), &fp, now, &taken);
        const json_t *want = json_object_get(c, "expected");
        const char *name = str(c, "name");
        if (json_is_true(json_object_get(want, "accepted"))) {
            CHECK(rc == LICENTIA_OK && !taken.refusal && taken.payload, "online: %s accepted (rc %d, %s)", name, rc,
                  taken.refusal ? taken.refusal : "-");
            CHECK(taken.offset_s == json_integer_value(json_object_get(want, "offset_seconds")), "online: %s offset %lld",
                  name, taken.offset_s);
            licentia_status *st = rc == LICENTIA_OK ? lc_status_of(taken.payload, taken.issued_ms, 1) : NULL;
            CHECK(same_status(st, json_object_get(want, "status")) && st->online, "online: %s status (got %s/%s/%ld)", name,
                  st ? st->state : "-", st && st->reason ? st->reason : "null", st ? st->days_left : 0);
            licentia_status_free(st);
        } else {
            const char *why = str(want, "refusal");
            CHECK(rc == LICENTIA_E_INVALID_DOCUMENT && !taken.payload && taken.refusal && why && !strcmp(taken.refusal, why),
                  "online: %s refused as %s (rc %d, %s)", name, why ? why : "-", rc, taken.refusal ? taken.refusal : "-");
        }
        json_decref(taken.payload);
        json_decref(answer);
        json_decref(known);
        lc_keyset_free(&keys);
        free(keys_str);
    }
    CHECK(json_array_size(cases) > 0, "online cases present");
}

/* The offset's rounding and bounds (the core's clock_offset and server_time), and the nonce's form. */
static void offset_and_nonce(void) {
    CHECK(lc_clock_offset(1500, 0) == 2 && lc_clock_offset(2500, 0) == 3 && lc_clock_offset(-500, 0) == 0 &&
              lc_clock_offset(-1500, 0) == -1 && lc_clock_offset(-1999, 0) == -1 && lc_clock_offset(1000, 0) == 1 &&
              lc_clock_offset(1001, 0) == 2 && lc_clock_offset(0, 0) == 0,
          "whole seconds, rounded up");
    long long century = 100LL * 366 * 86400;
    CHECK(lc_clock_offset(century * 1000, 0) == century && lc_clock_offset((century + 1) * 1000, 0) == 0, "a century at most");
    CHECK(lc_server_time(1000, 5) == 6000 && lc_server_time(1000, century + 1) == 1000, "server time");
    long long end;
    lc_parse_iso("9999-12-31T23:00:00Z", &end);
    CHECK(lc_server_time(end, 7200) == end, "no server time past the calendar");
    char a[LC_NONCE_SIZE], b[LC_NONCE_SIZE];
    lc_new_nonce(a), lc_new_nonce(b);
    CHECK(strlen(a) == 22 && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 22 && strcmp(a, b),
          "nonce: 22 base64url characters, fresh each time: %s %s", a, b);
}

static void make_parents(const char *path) {
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(copy, 0700);
        *p = '/';
    }
}

static void reader_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char root[64] = "/tmp/licentia-tree-XXXXXX", path[1024];
        const char *rel;
        json_t *value;
        size_t j;
        if (!mkdtemp(root)) {
            CHECK(0, "mkdtemp");
            continue;
        }
        json_array_foreach(json_object_get(c, "dirs"), j, value) {
            snprintf(path, sizeof path, "%s/%s/", root, json_string_value(value));
            make_parents(path);
        }
        json_object_foreach(json_object_get(c, "files"), rel, value) {
            snprintf(path, sizeof path, "%s/%s", root, rel);
            make_parents(path);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(json_string_value(value), 1, json_string_length(value), f);
                fclose(f);
            }
        }
        json_object_foreach(json_object_get(c, "links"), rel, value) {
            snprintf(path, sizeof path, "%s/%s", root, rel);
            make_parents(path);
            CHECK(symlink(json_string_value(value), path) == 0, "symlink %s", rel);
        }
        lc_raw_hardware raw;
        memset(&raw, 0, sizeof raw);
        lc_linux_hardware(root, str(c, "data_dir"), &raw);
        const json_t *want = json_object_get(c, "expected");
        const char *names[] = {"machine", "disk", "cpu", "mac"};
        const char *got[] = {raw.machine, raw.disk, raw.cpu, raw.mac};
        for (int k = 0; k < 4; k++) {
            const char *expected = str(want, names[k]);
            CHECK(strcmp(got[k], expected ? expected : "") == 0, "reader %s: %s (got '%s')", names[k], str(c, "name"), got[k]);
        }
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        CHECK(system(cmd) == 0, "cleanup");
    }
}

static void credential_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "credentials: cases");
    json_array_foreach(cases, i, c) {
        json_t *answer = json_pack("{s:O}", "credential", json_object_get(c, "credential"));
        json_t *payload = json_pack("{s:O}", "device", json_object_get(c, "document_device"));
        const char *device, *secret;
        int kept = lc_credential_of(answer, payload, &device, &secret);
        const json_t *want = json_object_get(c, "expected");
        int ok = kept == json_is_true(json_object_get(want, "valid"));
        if (ok && kept) {
            const json_t *pair = json_object_get(want, "credential");
            ok = lc_same_text(json_array_get(pair, 0), device) && lc_same_text(json_array_get(pair, 1), secret);
        }
        CHECK(ok, "credentials: %s", str(c, "name"));
        json_decref(answer);
        json_decref(payload);
    }
}

static long long time_or_none(const json_t *v) {
    long long ms;
    return json_is_string(v) && lc_parse_iso(json_string_value(v), &ms) == 0 ? ms : LC_NO_TIME;
}

static void last_seen_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "last_seen: cases");
    json_array_foreach(cases, i, c) {
        long long last_seen = time_or_none(json_object_get(c, "last_seen")), now = time_or_none(json_object_get(c, "now"));
        long long issued = time_or_none(json_object_get(c, "issued_at"));
        long long tolerance = json_integer_value(json_object_get(c, "rollback_tolerance_seconds")) * 1000;
        const json_t *want = json_object_get(c, "expected");
        int rollback = 0;
        long long after = last_seen, offset = LC_NO_TIME;
        if (issued != LC_NO_TIME) {
            after = lc_seen(last_seen, now, 1);
            offset = lc_clock_offset(issued, now);
        } else if ((rollback = lc_rolled_back(last_seen, now, tolerance)) == 0) {
            after = lc_seen(last_seen, now, 0);
        }
        char iso[21] = "";
        if (after != LC_NO_TIME) lc_format_iso(after, iso);
        const json_t *want_offset = json_object_get(want, "offset_seconds");
        CHECK(rollback == json_is_true(json_object_get(want, "rollback")) &&
                  (json_is_null(json_object_get(want, "last_seen")) ? after == LC_NO_TIME
                                                                    : lc_same_text(json_object_get(want, "last_seen"), iso)) &&
                  (json_is_null(want_offset) ? offset == LC_NO_TIME : json_integer_value(want_offset) == offset),
              "last_seen: %s (got %s, rollback %d, offset %lld)", str(c, "name"), iso, rollback, offset);
    }
}

static void latest_release_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "latest_release: cases");
    json_array_foreach(cases, i, c) {
        const json_t *text = json_object_get(c, "answer"), *want = json_object_get(c, "expected");
        json_t *answer = lc_parse(json_string_value(text), json_string_length(text));
        json_t *release = lc_release_of(answer);
        const json_t *expected = json_object_get(want, "release");
        CHECK(!answer == json_is_true(json_object_get(want, "invalid_answer")) &&
                  (json_is_null(expected) ? !release : release && json_equal(release, (json_t *)expected)),
              "latest_release: %s", str(c, "name"));
        json_decref(release);
        json_decref(answer);
    }
}

#include "vectors_more.h"
#include "vectors_trail.h"

int main(void) {
    json_error_t error;
    const char *file = getenv("LICENTIA_VECTORS") ? getenv("LICENTIA_VECTORS") : VECTORS; /* another file: make test */
    json_t *vectors = json_load_file(file, JSON_ALLOW_NUL, &error);
    if (!vectors) {
        fprintf(stderr, "cannot read %s: %s\n", file, error.text);
        return 2;
    }
    if (sodium_init() < 0) return 2;
    /* Every section of the contract is run here: one this runner does not know fails the suite until implemented. */
    static const char *implemented[] = {"format", "about", "canonical", "signatures", "fingerprints", "license_keys",
                                        "offline", "online", "linux_readers", "credentials",
                                        "last_seen", "latest_release", "entitlements", "licensee", "data_paths",
                                        "consumption", "state", "leases", "airgapped", "hardware_readers",
                                        "installer_tickets", "proxy_trail"};
    const char *section;
    json_t *ignored;
    json_object_foreach(vectors, section, ignored) {
        int known = 0;
        for (size_t k = 0; k < sizeof implemented / sizeof *implemented; k++) known |= !strcmp(section, implemented[k]);
        CHECK(known, "the vectors' section \"%s\" is not implemented by this client", section);
    }
    CHECK(json_is_integer(json_object_get(vectors, "format")), "the vectors' format");
    canonical_cases(json_object_get(vectors, "canonical"));
    signature_cases(json_object_get(vectors, "signatures"));
    fingerprint_cases(json_object_get(vectors, "fingerprints"));
    license_key_cases(json_object_get(vectors, "license_keys"));
    offline_cases(json_object_get(vectors, "offline"));
    online_cases(json_object_get(vectors, "online"));
    offset_and_nonce();
    reader_cases(json_object_get(vectors, "linux_readers"));
    credential_cases(json_object_get(vectors, "credentials"));
    last_seen_cases(json_object_get(vectors, "last_seen"));
    latest_release_cases(json_object_get(vectors, "latest_release"));
    entitlement_cases(json_object_get(vectors, "entitlements"));
    licensee_cases(json_object_get(vectors, "licensee"));
    data_path_cases(json_object_get(vectors, "data_paths"));
    consumption_cases(json_object_get(vectors, "consumption"));
    state_cases(json_object_get(vectors, "state"));
    state_shapes(json_object_get(vectors, "state"));
    lease_cases(json_object_get(vectors, "leases"));
    airgapped_cases(json_object_get(vectors, "airgapped"));
    hardware_reader_cases(json_object_get(vectors, "hardware_readers"));
    installer_ticket_cases(json_object_get(vectors, "installer_tickets"));
    proxy_trail_cases(json_object_get(vectors, "proxy_trail"));
    pending_sections();
    json_decref(vectors);
    return REPORT("conformance vectors");
}
