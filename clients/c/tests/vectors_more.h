/*
 * The sections of the contract beyond the core's rules: entitlements, licensee, data paths, meters,
 * the state file, leases, air-gapped files and the macOS/Windows readers (included by test_vectors.c).
 */
#include "state.h"

static json_t *text_json(const json_t *text) {
    return json_is_string(text) ? lc_parse(json_string_value(text), json_string_length(text)) : NULL;
}

static void entitlement_cases(const json_t *cases) {
    size_t i, j;
    json_t *c, *q;
    CHECK(json_array_size(cases) > 0, "entitlements: cases");
    json_array_foreach(cases, i, c) {
        long long now;
        lc_parse_iso(str(c, "now"), &now);
        licentia_status *st = lc_status_of(json_object_get(c, "payload"), now, 0);
        const json_t *want = json_object_get(c, "expected");
        json_t *none = json_object();
        const json_t *in_force = st && st->entitlements ? st->entitlements : none;
        int ok = st && st->allowed == json_is_true(json_object_get(want, "allowed")) &&
                 json_equal((json_t *)in_force, json_object_get(want, "entitlements"));
        const json_t *features = json_object_get(want, "features");
        ok = ok && (st->allowed ? st->feature_count == json_array_size(features) : 1);
        const char *name;
        json_t *has;
        json_object_foreach(json_object_get(want, "has_feature"), name, has) ok = ok && licentia_status_has_feature(st, name) == json_is_true(has);
        json_array_foreach(json_object_get(want, "entitlement"), j, q) {
            const json_t *found = json_object_get(in_force, json_string_value(json_array_get(q, 0)));
            ok = ok && json_equal((json_t *)(found ? found : json_array_get(q, 1)), json_array_get(q, 2));
        }
        CHECK(ok, "entitlements: %s", str(c, "name"));
        json_decref(none);
        licentia_status_free(st);
    }
}

static void licensee_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "licensee: cases");
    json_array_foreach(cases, i, c) {
        const json_t *payload = json_object_get(c, "payload"), *want = json_object_get(c, "expected");
        json_t *customer = lc_customer_of(payload), *maintenance = lc_maintenance_of(payload);
        json_t *release = lc_release_of(json_object_get(payload, "latest_release"));
        json_t *null = json_null();
        CHECK(json_equal(customer ? customer : null, json_object_get(want, "customer")) &&
                  json_equal(maintenance ? maintenance : null, json_object_get(want, "maintenance")) &&
                  json_equal(release ? release : null, json_object_get(want, "latest_release")),
              "licensee: %s", str(c, "name"));
        /* and through the status the application reads */
        long long now;
        lc_parse_iso(str(c, "now"), &now);
        licentia_status *st = lc_status_of(payload, now, 0);
        const json_t *id = json_object_get(json_object_get(want, "customer"), "id");
        CHECK(st && licentia_status_customer_id(st) == (json_is_integer(id) ? json_integer_value(id) : -1),
              "licensee: %s, the status's customer", str(c, "name"));
        licentia_status_free(st);
        json_decref(customer), json_decref(maintenance), json_decref(release);
    }
}

static void data_path_cases(const json_t *cases) {
    size_t i, ran = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        /* Both systems' rules are pure functions here, so both run on any system. */
        const json_t *want = json_object_get(c, "expected");
        char *absolute = !strcmp(str(c, "os"), "posix") ? lc_posix_absolute(str(c, "cwd"), str(c, "data_dir"))
                                                        : lc_windows_absolute(str(c, "cwd"), str(c, "data_dir"));
        char hash[LC_HASH_HEX] = "";
        if (absolute) lc_component_hash(str(c, "product"), "data_path", absolute, strlen(absolute), hash);
        CHECK(absolute && !strcmp(absolute, str(want, "absolute")) && !strcmp(hash, str(want, "data_path")),
              "data_paths: %s (got %s)", str(c, "name"), absolute ? absolute : "-");
        free(absolute), ran++;
    }
    CHECK(ran > 0, "data_paths: cases");
}

static int same_consumption(const licentia_consumption *got, const json_t *want) {
    const json_t *end = json_object_get(want, "period_end");
    return lc_same_text(json_object_get(want, "meter"), got->meter) && json_integer_value(json_object_get(want, "used")) == got->used &&
           json_integer_value(json_object_get(want, "limit")) == got->limit &&
           json_integer_value(json_object_get(want, "remaining")) == got->remaining &&
           lc_same_text(json_object_get(want, "period"), got->period) &&
           lc_same_text(json_object_get(want, "period_start"), got->period_start) &&
           (json_is_null(end) ? got->period_end[0] == '\0' : lc_same_text(end, got->period_end)) &&
           got->replayed == json_is_true(json_object_get(want, "replayed"));
}

static void consumption_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "consumption: cases");
    json_array_foreach(cases, i, c) {
        long long now;
        lc_parse_iso(str(c, "now"), &now);
        const json_t *body = json_object_get(c, "body"), *want = json_object_get(c, "expected");
        licentia_consumption got;
        char code[101];
        const char *outcome = lc_consumption_outcome(str(c, "meter"), now, (long)json_integer_value(json_object_get(c, "status")),
                                                     json_string_value(body), json_string_length(body), &got, code);
        const json_t *want_code = json_object_get(want, "code"), *figures = json_object_get(want, "consumption");
        CHECK(!strcmp(outcome, str(want, "outcome")) && (json_is_null(want_code) ? !code[0] : lc_same_text(want_code, code)) &&
                  (json_is_null(figures) || same_consumption(&got, figures)),
              "consumption: %s (got %s, %s)", str(c, "name"), outcome, code);
    }
}

static void state_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "state: cases");
    json_array_foreach(cases, i, c) {
        const json_t *b64 = json_object_get(c, "base64"), *want = json_object_get(c, "expected");
        unsigned char *raw = malloc(json_string_length(b64) + 1);
        size_t len = 0;
        sodium_base642bin(raw, json_string_length(b64) + 1, json_string_value(b64), json_string_length(b64), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL);
        lc_state s;
        lc_state_parse(&s, (const char *)raw, len);
        const json_t *cred = json_object_get(want, "credential"), *offset = json_object_get(want, "clock_offset");
        json_t *null = json_null();
        int ok = s.corrupt == json_is_true(json_object_get(want, "corrupt")) &&
                 (json_is_null(cred) ? !s.device : lc_same_text(json_array_get(cred, 0), s.device) &&
                                                       lc_same_text(json_array_get(cred, 1), s.secret)) &&
                 json_equal(s.signed_doc ? s.signed_doc : null, json_object_get(want, "signed")) &&
                 (json_is_null(json_object_get(want, "token")) ? !s.token : lc_same_text(json_object_get(want, "token"), s.token)) &&
                 s.install_reported == json_is_true(json_object_get(want, "install_reported")) &&
                 (json_is_null(json_object_get(want, "last_seen")) ? !s.last_seen : lc_same_text(json_object_get(want, "last_seen"), s.last_seen)) &&
                 (json_is_null(json_object_get(want, "last_usage_report")) ? !s.last_usage_report
                                                                          : lc_same_text(json_object_get(want, "last_usage_report"), s.last_usage_report)) &&
                 s.clock_offset == (json_is_integer(offset) ? json_integer_value(offset) : 0) &&
                 s.facts_opt_out == json_is_true(json_object_get(want, "facts_opt_out"));
        CHECK(ok, "state: %s", str(c, "name"));
        lc_state_clear(&s);
        free(raw);
    }
}

static int same_state(const lc_state *a, const lc_state *b) {
    json_t *null = json_null();
    return a->corrupt == b->corrupt && !strcmp(a->device ? a->device : "", b->device ? b->device : "") &&
           !strcmp(a->secret ? a->secret : "", b->secret ? b->secret : "") &&
           json_equal(a->signed_doc ? a->signed_doc : null, b->signed_doc ? b->signed_doc : null) &&
           !strcmp(a->token ? a->token : "", b->token ? b->token : "") &&
           !strcmp(a->last_seen ? a->last_seen : "", b->last_seen ? b->last_seen : "") &&
           a->clock_offset == b->clock_offset && a->facts_opt_out == b->facts_opt_out &&
           a->install_reported == b->install_reported;
}

/* raw with its first `from` replaced by `to` (malloc'd). */
static char *replaced(const char *raw, const char *from, const char *to) {
    const char *at = strstr(raw, from);
    size_t head = at ? (size_t)(at - raw) : strlen(raw), skip = at ? strlen(from) : 0;
    char *out = malloc(strlen(raw) + strlen(to) + 1);
    memcpy(out, raw, head);
    strcpy(out + head, at ? to : "");
    strcat(out, raw + head + skip);
    return out;
}

static char *appended(const char *raw, const char *tail) {
    char *out = malloc(strlen(raw) + strlen(tail) + 1);
    strcpy(out, raw);
    return strcat(out, tail);
}

/*
 * The usual state.json is read without building its outer object; any other form goes to the full JSON parser.
 * Both must judge every form alike: the same fields, or corrupt, as the full parser gives.
 */
static void state_shapes(const json_t *cases) {
    const json_t *b64 = json_object_get(json_array_get(cases, 0), "base64");
    char *raw = calloc(json_string_length(b64) + 1, 1);
    size_t len = 0;
    sodium_base642bin((unsigned char *)raw, json_string_length(b64) + 1, json_string_value(b64), json_string_length(b64), NULL,
                      &len, NULL, sodium_base64_VARIANT_ORIGINAL);
    raw[len] = '\0';
    lc_state plain, got;
    lc_state_parse(&plain, raw, len);
    CHECK(!plain.corrupt && plain.device && plain.signed_doc, "state shapes: the usual form reads");
    json_t *outer = json_loadb(raw, len, 0, NULL);
    char *sorted = json_dumps(outer, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(outer);
    struct { const char *name; char *text; int same; } shapes[] = {
        {"keys in another order, indented", sorted, 1},
        {"a \\u escape in the sealed body", replaced(raw, "\\\"", "\\u0022"), 1},
        {"an escaped slash in the secret", replaced(raw, "\"secret\":\"s3cr3t", "\"secret\":\"s3cr3t\\/"), 0},
        {"a key twice (the last one counts)", replaced(raw, "{", "{\"device\":\"dv_other\","), 1},
        {"an extra key", replaced(raw, "{", "{\"facts_opt_out\":false,"), 1},
        {"a key with an escape", replaced(raw, "\"mac\"", "\"m\\u0061c\""), 1},
        {"format 2.0", replaced(raw, "\"format\":2", "\"format\":2.0"), 0},
        {"format 20", replaced(raw, "\"format\":2", "\"format\":20"), 0},
        {"format 02", replaced(raw, "\"format\":2", "\"format\":02"), 0},
        {"trailing bytes", appended(raw, "x"), 0},
        {"trailing white space", appended(raw, "\n "), 1},
        {"a control character in the device", replaced(raw, "dv_", "dv\001"), 0},
        {"a byte that is not UTF-8 in the secret", replaced(raw, "s3cr3t", "s3cr\377t"), 0},
        {"the seal in upper case", NULL, 0},
    };
    const char *mac = strstr(raw, "\"mac\":\"") + 7;
    char upper[65];
    for (size_t i = 0; i < 64; i++) upper[i] = (char)(mac[i] >= 'a' && mac[i] <= 'f' ? mac[i] - 32 : mac[i]);
    upper[64] = '\0';
    char lower[65];
    memcpy(lower, mac, 64), lower[64] = '\0';
    shapes[13].text = replaced(raw, lower, upper);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        lc_state_parse(&got, shapes[i].text, strlen(shapes[i].text));
        if (shapes[i].same) CHECK(same_state(&got, &plain), "state shapes: %s reads as the usual form", shapes[i].name);
        else CHECK(got.corrupt && !got.device && !got.signed_doc, "state shapes: %s is corrupt", shapes[i].name);
        lc_state_clear(&got);
        free(shapes[i].text);
    }
    lc_state_clear(&plain);
    free(raw);
}

static int same_lease(const json_t *payload, long long judged, long long expires, const json_t *want) {
    char iso[21];
    lc_format_iso(expires, iso);
    json_t *entitlements = lc_entitlements_in_force(json_object_get(payload, "entitlements"), judged), *features = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(payload, "features"), i, f) if (json_is_string(f)) json_array_append(features, f);
    double left = expires > judged ? (double)(expires - judged) / 1000.0 : 0;
    int ok = json_equal(json_object_get(payload, "lease"), json_object_get(want, "id")) &&
             !strcmp(str(want, "state"), json_is_true(json_object_get(payload, "borrowed")) ? "borrowed" : "active") &&
             !strcmp(str(want, "expires_at"), iso) && json_number_value(json_object_get(want, "seconds_left")) == left &&
             json_number_value(json_object_get(want, "heartbeat_seconds")) == lc_heartbeat_seconds(payload) &&
             json_equal(entitlements, json_object_get(want, "entitlements")) && json_equal(features, json_object_get(want, "features"));
    json_decref(entitlements), json_decref(features);
    return ok;
}

static void lease_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "leases: cases");
    json_array_foreach(cases, i, c) {
        char *keys_str = keys_text(json_object_get(c, "pinned"));
        lc_keyset keys;
        lc_keyset_parse(keys_str, &keys);
        const json_t *fpj = json_object_get(c, "fingerprint"), *want = json_object_get(c, "expected");
        lc_fingerprint fp;
        presented_from(json_object_get(fpj, "components"), str(fpj, "data_path"), &fp);
        json_t *payload = NULL;
        long long issued = 0, expires = 0, judged = 0;
        const char *why;
        if (!strcmp(str(c, "mode"), "answer")) {
            const json_t *request = json_object_get(c, "request");
            json_t *known = text_json(json_object_get(request, "known")), *answer = text_json(json_object_get(c, "answer"));
            lc_asked asked = {{0}, str(request, "device"), known};
            snprintf(asked.nonce, sizeof asked.nonce, "%s", str(request, "nonce"));
            lc_accept_lease(answer, &asked, &keys, str(c, "product"), &fp, &payload, &issued, &expires, &why);
            judged = issued;
            json_decref(known), json_decref(answer);
        } else {
            json_t *signed_doc = text_json(json_object_get(c, "signed"));
            long long now;
            lc_parse_iso(str(c, "now"), &now);
            judged = lc_server_time(now, json_integer_value(json_object_get(c, "offset_seconds")));
            why = lc_stored_lease(signed_doc, &keys, str(c, "product"), &fp, judged, &payload, &issued, &expires);
            json_decref(signed_doc);
        }
        if (json_is_true(json_object_get(want, "accepted")))
            CHECK(payload && !why && same_lease(payload, judged, expires, json_object_get(want, "lease")), "leases: %s (%s)",
                  str(c, "name"), why ? why : "-");
        else
            CHECK(!payload && why && !strcmp(why, str(want, "refusal")), "leases: %s refused as %s (got %s)", str(c, "name"),
                  str(want, "refusal"), why ? why : "-");
        json_decref(payload);
        lc_keyset_free(&keys);
        free(keys_str);
    }
}

static void airgapped_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "airgapped: cases");
    json_array_foreach(cases, i, c) {
        const json_t *want = json_object_get(c, "expected");
        if (!strcmp(str(c, "mode"), "request")) {
            const json_t *in = json_object_get(c, "inputs");
            unsigned char box[32], seed[32];
            size_t n1 = 0, n2 = 0;
            sodium_base642bin(box, 32, str(in, "box"), strlen(str(in, "box")), NULL, &n1, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
            sodium_base642bin(seed, 32, str(in, "proof"), strlen(str(in, "proof")), NULL, &n2, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
            char *text = n1 == 32 && n2 == 32 ? lc_request_text(str(in, "product"), str(in, "key"), json_object_get(in, "fingerprint"),
                                                                 str(in, "nonce"), str(in, "created_at"), box, seed,
                                                                 str(in, "app_version"), str(in, "os"))
                                              : NULL;
            CHECK(text && !strcmp(text, str(want, "text")), "airgapped: %s, byte for byte", str(c, "name"));
            free(text);
            continue;
        }
        char *keys_str = keys_text(json_object_get(c, "pinned"));
        lc_keyset keys;
        lc_keyset_parse(keys_str, &keys);
        const json_t *fpj = json_object_get(c, "fingerprint"), *response = json_object_get(c, "response");
        lc_fingerprint fp;
        presented_from(json_object_get(fpj, "components"), str(fpj, "data_path"), &fp);
        long long now;
        lc_parse_iso(str(c, "now"), &now);
        long long at = lc_server_time(now, json_integer_value(json_object_get(c, "offset_seconds")));
        lc_opened_response r;
        const char *why = lc_open_response(json_string_value(response), json_string_length(response), str(c, "product"), &keys,
                                           &fp, json_object_get(c, "pending"), at, &r);
        if (json_is_true(json_object_get(want, "accepted"))) {
            const json_t *cred = json_object_get(want, "credential");
            licentia_status *st = !why ? lc_status_of(r.payload, at, 0) : NULL;
            CHECK(!why && json_equal(json_object_get(r.credential, "device"), json_array_get(cred, 0)) &&
                      json_equal(json_object_get(r.credential, "secret"), json_array_get(cred, 1)) &&
                      json_equal(r.activation, json_object_get(want, "activation")) && same_status(st, json_object_get(want, "status")),
                  "airgapped: %s (%s)", str(c, "name"), why ? why : "-");
            licentia_status_free(st);
        } else {
            CHECK(why && !strcmp(why, str(want, "refusal")), "airgapped: %s refused as %s (got %s)", str(c, "name"),
                  str(want, "refusal"), why ? why : "-");
        }
        lc_opened_response_clear(&r);
        lc_keyset_free(&keys);
        free(keys_str);
    }
}

static int same_raw(const json_t *want, const char *name, const char *got) {
    const json_t *v = json_object_get(want, name);
    return json_is_null(v) ? got[0] == '\0' : lc_same_text(v, got);
}

static void hardware_reader_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 0, "hardware_readers: cases");
    json_array_foreach(cases, i, c) {
        const json_t *r = json_object_get(c, "recorded"), *want = json_object_get(c, "expected");
        lc_raw_hardware raw;
        char volume[256] = "";
        memset(&raw, 0, sizeof raw);
        unsigned long long node = (unsigned long long)json_integer_value(json_object_get(r, "node"));
        if (!strcmp(str(c, "os"), "macos")) {
            if (json_is_string(json_object_get(r, "ioreg"))) lc_ioreg_platform_uuid(str(r, "ioreg"), raw.machine, sizeof raw.machine);
            lc_join_cpu(str(r, "machine"), str(r, "processor"), raw.cpu, sizeof raw.cpu);
            unsigned char bytes[6];
            for (int k = 0; k < 6; k++) bytes[k] = (unsigned char)(node >> (40 - 8 * k));
            lc_format_node(bytes, raw.mac, sizeof raw.mac);
        } else {
            const json_t *cpu = json_object_get(r, "cpu");
            lc_windows_recorded rec = {str(r, "machine_guid"),
                                       {json_string_value(json_array_get(cpu, 0)), json_string_value(json_array_get(cpu, 1)),
                                        json_string_value(json_array_get(cpu, 2))},
                                       (unsigned long long)json_integer_value(json_object_get(r, "volume_serial")),
                                       str(r, "machine"), str(r, "processor"), node, str(c, "data_dir"), str(c, "cwd")};
            lc_windows_raw(&rec, &raw, volume, sizeof volume);
        }
        CHECK(same_raw(want, "machine", raw.machine) && same_raw(want, "disk", raw.disk) && same_raw(want, "cpu", raw.cpu) &&
                  same_raw(want, "mac", raw.mac) && same_raw(want, "volume", volume),
              "hardware_readers: %s (got %s / %s / %s / %s / %s)", str(c, "name"), raw.machine, raw.disk, raw.cpu, raw.mac, volume);
    }
}

/* The rule itself, and the file read as the first check reads it: sent unchanged exactly when `send`. */
static void installer_ticket_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    char path[] = "/tmp/licentia-ticket-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && json_array_size(cases) > 0, "installer_tickets: cases");
    if (fd >= 0) close(fd);
    json_array_foreach(cases, i, c) {
        const json_t *b64 = json_object_get(c, "file_base64"), *want = json_object_get(c, "expected");
        unsigned char *raw = malloc(json_string_length(b64) + 1);
        size_t len = 0;
        sodium_base642bin(raw, json_string_length(b64) + 1, json_string_value(b64), json_string_length(b64), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL);
        const char *problem = licentia_ticket_problem(raw, len);
        const json_t *expected = json_object_get(want, "problem");
        int send = json_is_true(json_object_get(want, "send"));
        FILE *f = fopen(path, "wb");
        if (f) fwrite(raw, 1, len, f), fclose(f);
        json_t *field = lc_installer_ticket(path);
        CHECK((json_is_null(expected) ? !problem : lc_same_text(expected, problem)) && send == !problem &&
                  (send ? field && json_string_length(field) == len && !memcmp(json_string_value(field), raw, len) : !field),
              "installer_tickets: %s (got %s)", str(c, "name"), problem ? problem : "no problem");
        json_decref(field);
        free(raw);
    }
    CHECK(!lc_installer_ticket("/nonexistent/licentia-ticket.json") && !lc_installer_ticket(NULL), "a missing file is no ticket");
    unlink(path);
}
