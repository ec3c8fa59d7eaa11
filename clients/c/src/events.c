/* Events: install and usage reports after online calls, feedback, the uninstall report, flushing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "queue.h"
#include "trail.h"

static json_t *app_version(const licentia *h) { return json_pack("{s:s?}", "app_version", h->app_version); }

static licentia_error add(call *c, const char *kind, json_t *data) {
    return lc_queue_add(c->h->data_dir, c->h->event_counter++, kind, c->now, data, NULL);
}

void lc_flush_queue(call *c) {
    licentia_status *ignored = NULL;
    if (!c->state->device && lc_device_call(c, "/v1/check", NULL, &ignored) != LICENTIA_OK) return;
    licentia_status_free(ignored);
    /* The vendor's proxy-log trail (trail.c), as the last signed document asks. */
    const json_t *doc = json_object_get(c->state->signed_doc, "document");
    const char *trail = json_is_true(json_object_get(doc, "proxy_trail")) ? c->h->product : NULL;
    lc_sender to = {c->h->server_url, c->state->device, c->state->secret, c->deadline, trail};
    size_t sent;
    lc_queue_flush(c->h->data_dir, &to, &sent); /* what is not sent now stays queued for the next call */
}

void lc_after_online(call *c, int is_check) {
    lc_state *s = c->state;
    int changed = 0;
    if (is_check && !s->install_reported && add(c, LICENTIA_EVENT_INSTALL, app_version(c->h)) == LICENTIA_OK) {
        s->install_reported = changed = 1;
    }
    const json_t *doc = json_object_get(s->signed_doc, "document");
    const json_t *status = json_object_get(doc, "status");
    if (is_check && json_is_string(status) && strcmp(json_string_value(status), LICENTIA_STATUS_REGISTERED) == 0) {
        if (lc_usage_due(doc, s->last_usage_report, c->now)) {
            char iso[21];
            lc_format_iso(c->now, iso);
            char *copy = strdup(iso);
            if (copy && add(c, LICENTIA_EVENT_USAGE, app_version(c->h)) == LICENTIA_OK) {
                free(s->last_usage_report);
                s->last_usage_report = copy;
                copy = NULL;
                changed = 1;
            }
            free(copy);
        }
    }
    if (changed) lc_state_save(c->h->data_dir, s); /* a failed save only means the report may repeat */
    lc_flush_queue(c);
}

/* Queue one event and try to send the queue now, under the handle's lock. */
static licentia_error queue_and_send(licentia *h, const char *kind, json_t *data, size_t *remaining) {
    if (!h) {
        json_decref(data);
        return LICENTIA_E_ARGUMENT;
    }
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    licentia_error rc = kind ? add(&c, kind, data) : LICENTIA_OK;
    if (rc == LICENTIA_OK) lc_flush_queue(&c);
    if (remaining) *remaining = lc_queue_count(h->data_dir);
    lc_call_end(&c);
    return rc;
}

licentia_error licentia_feedback(licentia *h, const char *text, const char *email) {
    if (!text) return LICENTIA_E_ARGUMENT;
    json_t *data = email && *email ? json_pack("{s:s, s:s}", "text", text, "email", email) : json_pack("{s:s}", "text", text);
    return data ? queue_and_send(h, LICENTIA_EVENT_FEEDBACK, data, NULL) : LICENTIA_E_NOMEM;
}

licentia_error licentia_uninstall(licentia *h) {
    return h ? queue_and_send(h, LICENTIA_EVENT_UNINSTALL, app_version(h), NULL) : LICENTIA_E_ARGUMENT;
}

licentia_error licentia_flush(licentia *h, size_t *remaining) { return queue_and_send(h, NULL, NULL, remaining); }
