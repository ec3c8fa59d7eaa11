/* The proxy_trail section, and the pending sections (conformance/vectors-pending.json; none now). */
#include "trail.h"

#ifndef PENDING_VECTORS
#define PENDING_VECTORS "../../conformance/vectors-pending.json"
#endif

static void proxy_trail_cases(const json_t *cases) {
    size_t i;
    json_t *c;
    CHECK(json_array_size(cases) > 20, "proxy_trail: cases");
    json_array_foreach(cases, i, c) {
        const json_t *want = json_object_get(c, "expected");
        if (!strcmp(str(c, "kind"), "targets")) {
            json_t *got = lc_trail_targets(str(c, "product"), str(c, "mode"), str(c, "event_id"), json_object_get(c, "fields"));
            CHECK(got && json_equal(got, json_object_get(want, "targets")), "proxy_trail %s", str(c, "name"));
            json_decref(got);
            continue;
        }
        json_t *doc = json_pack("{s:b, s:O}", "usage_report_once", 1, "usage_report_days", json_object_get(c, "usage_report_days"));
        const json_t *registered = json_object_get(c, "registered_at");
        if (!json_is_null(registered)) json_object_set(doc, "registered_at", (json_t *)registered);
        long long now = 0;
        CHECK(lc_parse_iso(str(c, "now"), &now) == 0, "proxy_trail %s: now", str(c, "name"));
        int due = lc_usage_due(doc, str(c, "last_usage_report"), now);
        CHECK(due == json_is_true(json_object_get(want, "send")), "proxy_trail %s", str(c, "name"));
        json_decref(doc);
    }
}

/* The pending sections: each must be one this runner runs, as in vectors.json. */
static void pending_sections(void) {
    json_error_t error;
    json_t *pending = json_load_file(PENDING_VECTORS, 0, &error);
    CHECK(pending != NULL, "cannot read %s: %s", PENDING_VECTORS, error.text);
    const char *section;
    json_t *ignored;
    json_object_foreach(pending, section, ignored) {
        int known = !strcmp(section, "format") || !strcmp(section, "about") || !strcmp(section, "proxy_trail");
        CHECK(known, "the pending vectors' section \"%s\" is not implemented by this client", section);
    }
    if (json_object_get(pending, "proxy_trail")) proxy_trail_cases(json_object_get(pending, "proxy_trail"));
    json_decref(pending);
}
