/*
 * What a status tells beyond allowed/state (status.py's status_of): the typed entitlements in force,
 * the licensee, the maintenance and the latest release, each read from the verified document and
 * kept only when well-formed, so nothing the signature does not cover, and nothing malformed,
 * reaches the application.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int lc_is_https_url(const char *text) {
    if (!text || strncmp(text, "https://", 8) != 0 || !text[8] || strlen(text) > 2000) return 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c <= 0x20 || *c > 0x7e) return 0;
    return 1;
}

json_t *lc_release_of(const json_t *unverified) {
    /* The known fields, each of its type or null (status.release_of); anything else of the answer is dropped. */
    static const char *texts[] = {"version", "channel", "released_at", "download_url", "notes"};
    if (!json_is_object(unverified)) return NULL;
    const json_t *version = json_object_get(unverified, "version");
    if (!json_is_string(version) || !json_string_length(version)) return NULL;
    json_t *release = json_object();
    for (size_t i = 0; release && i < sizeof texts / sizeof *texts; i++) {
        const json_t *v = json_object_get(unverified, texts[i]);
        if (json_is_string(v) || json_is_null(v)) json_object_set(release, texts[i], (json_t *)v);
    }
    const json_t *newer = json_object_get(unverified, "newer"), *url = json_object_get(release, "download_url");
    if (release && (json_is_boolean(newer) || json_is_null(newer))) json_object_set(release, "newer", (json_t *)newer);
    /* A link shown to the user: anything but a plain https:// URL (javascript:, file:, a plain-http
     * link a network attacker could rewrite on the way) is dropped. */
    if (json_is_string(url) && !lc_is_https_url(json_string_value(url))) json_object_set_new(release, "download_url", json_null());
    return release;
}

json_t *lc_entitlements_in_force(const json_t *unverified, long long now_ms) {
    json_t *found = json_object();
    const char *name;
    json_t *entry;
    if (!found || !json_is_object(unverified)) return found;
    json_object_foreach((json_t *)unverified, name, entry) {
        const json_t *value = json_object_get(entry, "value"), *expires = json_object_get(entry, "expires_at");
        long long end;
        if (!json_is_object(entry) || !(json_is_boolean(value) || json_is_integer(value) || json_is_string(value))) continue;
        /* An expiry passed, or unreadable, grants nothing. */
        if (expires && !json_is_null(expires) &&
            (!json_is_string(expires) || lc_parse_iso(json_string_value(expires), &end) != 0 || end <= now_ms))
            continue;
        if (json_object_set(found, name, (json_t *)value) != 0) {
            json_decref(found);
            return NULL;
        }
    }
    return found;
}

json_t *lc_customer_of(const json_t *payload) {
    const json_t *customer = json_object_get(json_object_get(payload, "license"), "customer");
    const json_t *id = json_object_get(customer, "id"), *name = json_object_get(customer, "name");
    if (!json_is_object(customer) || !json_is_integer(id)) return NULL; /* a boolean or text is no id */
    return json_pack("{s:O, s:s}", "id", id, "name", json_is_string(name) ? json_string_value(name) : "");
}

json_t *lc_maintenance_of(const json_t *payload) {
    const json_t *m = json_object_get(payload, "maintenance");
    if (!json_is_object(m)) return NULL;
    const json_t *until = json_object_get(m, "until"), *newer = json_object_get(m, "newer_release");
    const json_t *version = json_object_get(newer, "version"), *channel = json_object_get(newer, "channel");
    json_t *release = json_is_object(newer) && json_is_string(version) && json_string_length(version)
                          ? json_pack("{s:O, s:O}", "version", version, "channel", json_is_string(channel) ? channel : json_null())
                          : json_null();
    return json_pack("{s:O, s:o}", "until", json_is_string(until) ? until : json_null(), "newer_release", release);
}

static int text_of(const json_t *object, const char *name, char **out) {
    const json_t *v = json_object_get(object, name);
    if (!json_is_string(v)) return 0;
    return (*out = strdup(json_string_value(v))) ? 0 : -1;
}

/* The person a signed document names (signin.py's _user): 1-320 printable characters, else NULL (0; -1: no memory). */
static int user_of(const json_t *payload, char **out) {
    const json_t *v = json_object_get(payload, "user");
    if (!json_is_string(v) || json_string_length(v) < 1 || strlen(json_string_value(v)) != json_string_length(v)) return 0;
    const unsigned char *t = (const unsigned char *)json_string_value(v);
    size_t characters = 0;
    for (size_t i = 0; t[i]; i++) {
        if (t[i] < 0x20 || t[i] == 0x7f) return 0;                          /* control characters */
        if (t[i] == 0xc2 && t[i + 1] >= 0x80 && t[i + 1] < 0xa0) return 0; /* C1 controls */
        characters += (t[i] & 0xc0) != 0x80;
    }
    if (characters > 320) return 0;
    return (*out = strdup((const char *)t)) ? 0 : -1;
}

int lc_status_extras(licentia_status *st, const json_t *payload, long long now_ms) {
    int failed = 0;
    failed |= user_of(payload, &st->user);
    st->customer_id = -1;
    st->clone_suspected = json_is_true(json_object_get(payload, "clone_suspected"));
    /* Nothing is in force while the status is not allowed; documents of older servers: the features. */
    if (st->allowed) {
        const json_t *unverified = json_object_get(payload, "entitlements");
        if (json_is_object(unverified)) {
            failed |= !(st->entitlements = lc_entitlements_in_force(unverified, now_ms));
        } else {
            failed |= !(st->entitlements = json_object());
            for (size_t i = 0; !failed && i < st->feature_count; i++)
                failed |= json_object_set_new(st->entitlements, st->features[i], json_true()) != 0;
        }
    }
    json_t *customer = lc_customer_of(payload), *maintenance = lc_maintenance_of(payload);
    if (customer) {
        st->customer_id = json_integer_value(json_object_get(customer, "id"));
        failed |= text_of(customer, "name", &st->customer_name);
    }
    if (maintenance) {
        st->has_maintenance = 1;
        failed |= text_of(maintenance, "until", &st->maintenance_until);
        failed |= text_of(json_object_get(maintenance, "newer_release"), "version", &st->maintenance_newer);
    }
    json_decref(customer), json_decref(maintenance);
    json_t *release = lc_release_of(json_object_get(payload, "latest_release"));
    if (release)
        failed |= text_of(release, "version", &st->release_version) | text_of(release, "channel", &st->release_channel) |
                  text_of(release, "download_url", &st->release_url);
    json_decref(release);
    return failed ? -1 : 0;
}

/* -- public accessors ------------------------------------------------------------- */

licentia_entitlement_type licentia_status_entitlement_type(const licentia_status *s, const char *name) {
    const json_t *v = s && name ? json_object_get(s->entitlements, name) : NULL;
    if (json_is_boolean(v)) return LICENTIA_ENTITLEMENT_BOOL;
    if (json_is_integer(v)) return LICENTIA_ENTITLEMENT_INT;
    if (json_is_string(v)) return LICENTIA_ENTITLEMENT_STRING;
    return LICENTIA_ENTITLEMENT_NONE;
}

int licentia_status_entitlement_bool(const licentia_status *s, const char *name, int default_value) {
    const json_t *v = s && name ? json_object_get(s->entitlements, name) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : default_value;
}

long long licentia_status_entitlement_int(const licentia_status *s, const char *name, long long default_value) {
    const json_t *v = s && name ? json_object_get(s->entitlements, name) : NULL;
    return json_is_integer(v) ? (long long)json_integer_value(v) : default_value;
}

const char *licentia_status_entitlement_string(const licentia_status *s, const char *name, const char *default_value) {
    const json_t *v = s && name ? json_object_get(s->entitlements, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : default_value;
}

size_t licentia_status_entitlement_count(const licentia_status *s) { return s ? json_object_size(s->entitlements) : 0; }

const char *licentia_status_entitlement_name(const licentia_status *s, size_t index) {
    size_t i = 0;
    const char *name;
    json_t *value;
    if (!s || !s->entitlements) return NULL;
    json_object_foreach(s->entitlements, name, value) {
        if (i++ == index) return name;
    }
    return NULL;
}

long long licentia_status_customer_id(const licentia_status *s) { return s ? s->customer_id : -1; }
const char *licentia_status_user(const licentia_status *s) { return s ? s->user : NULL; }
const char *licentia_status_customer_name(const licentia_status *s) { return s && s->customer_id >= 0 ? s->customer_name : NULL; }
int licentia_status_has_maintenance(const licentia_status *s) { return s ? s->has_maintenance : 0; }
const char *licentia_status_maintenance_until(const licentia_status *s) { return s ? s->maintenance_until : NULL; }
const char *licentia_status_maintenance_newer_version(const licentia_status *s) { return s ? s->maintenance_newer : NULL; }
const char *licentia_status_release_version(const licentia_status *s) { return s ? s->release_version : NULL; }
const char *licentia_status_release_channel(const licentia_status *s) { return s ? s->release_channel : NULL; }
const char *licentia_status_release_download_url(const licentia_status *s) { return s ? s->release_url : NULL; }
int licentia_status_clone_suspected(const licentia_status *s) { return s ? s->clone_suspected : 0; }
int licentia_status_unsaved(const licentia_status *s) { return s ? s->unsaved : 0; }
