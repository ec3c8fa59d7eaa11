/*
 * The durable event queue: one file per event in <data_dir>/events/, the
 * TypeScript SDK's layout. An event is on disk (written atomically, owner
 * only) before licentia_* returns, and leaves the disk only after the server
 * acknowledged it; its id lets the server count a resend once.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "platform.h"
#include "queue.h"
#include "trail.h"

#define BATCH 100

static char *events_dir(const char *data_dir) {
    size_t n = strlen(data_dir) + 8;
    char *dir = malloc(n);
    if (dir) snprintf(dir, n, "%s/events", data_dir);
    return dir;
}

licentia_error lc_queue_add(const char *data_dir, unsigned counter, const char *kind, long long now_ms, json_t *data,
                            json_t *facts) {
    unsigned char raw[16];
    char id[33], when[21], name[80];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, sizeof id, raw, sizeof raw);
    lc_format_iso(now_ms, when);
    json_t *event = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id, "kind", kind, "occurred_at", when, "data",
                              data ? data : json_object(), "facts", facts ? facts : json_object());
    char *text = event ? json_dumps(event, JSON_COMPACT) : NULL;
    char *dir = events_dir(data_dir);
    json_decref(event);
    licentia_error rc = LICENTIA_E_NOMEM;
    if (text && dir) {
        /* Names sort in the order events were added: time, then this handle's counter. */
        snprintf(name, sizeof name, "%015lld-%08u-%s.json", now_ms > 0 ? now_ms : 0, counter, id);
        rc = lc_write_file_atomic(dir, name, text, strlen(text)) == 0 ? LICENTIA_OK : LICENTIA_E_IO;
    }
    free(text);
    free(dir);
    return rc;
}

size_t lc_queue_count(const char *data_dir) {
    size_t count = 0;
    char *dir = events_dir(data_dir);
    if (dir) {
        char **names = lc_list_dir(dir, ".json", &count); /* before reading count: argument order is unspecified */
        lc_free_names(names, count);
    }
    free(dir);
    return count;
}

static void remove_files(const char *dir, char **names, size_t count) {
    char path[4096];
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        lc_remove_file(path);
    }
}

static json_t *read_event(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = lc_open_read(path);
    if (!f) return NULL;
    char *text = malloc(1 << 16);
    size_t n = text ? fread(text, 1, (1 << 16), f) : 0;
    fclose(f);
    json_t *event = text && n < (1 << 16) ? lc_parse(text, n) : NULL;
    free(text);
    if (event && (!json_is_string(json_object_get(event, "id")) || !json_is_string(json_object_get(event, "kind")))) {
        json_decref(event);
        event = NULL;
    }
    return event;
}

licentia_error lc_queue_flush(const char *data_dir, const lc_sender *to, size_t *sent) {
    char *dir = events_dir(data_dir);
    licentia_error rc = LICENTIA_OK;
    *sent = 0;
    if (!dir) return LICENTIA_E_NOMEM;
    if (!to->device || !to->secret) {
        free(dir);
        return LICENTIA_OK; /* no credential yet: the events wait */
    }
    while (rc == LICENTIA_OK && lc_monotonic_ms() < to->deadline) {
        size_t count = 0, taken = 0;
        char **names = lc_list_dir(dir, ".json", &count);
        if (!count) {
            lc_free_names(names, count);
            break;
        }
        json_t *events = json_array(), *body = NULL, *answer = NULL;
        size_t accepted = 0; /* events in this call */
        const char *path = "/v1/events";
        for (; taken < count && taken < BATCH && events; taken++) {
            json_t *event = read_event(dir, names[taken]);
            if (!event) { /* damaged: it could never be sent, and must not block the queue */
                remove_files(dir, names + taken, 1);
                if (json_array_size(events)) break;
                continue;
            }
            int feedback = strcmp(json_string_value(json_object_get(event, "kind")), LICENTIA_EVENT_FEEDBACK) == 0;
            if (feedback && json_array_size(events)) { /* feedback goes alone, to its own endpoint */
                json_decref(event);
                break;
            }
            if (feedback) {
                const json_t *data = json_object_get(event, "data");
                const json_t *text = json_object_get(data, "text");
                const char *said = json_is_string(text) && json_string_length(text) ? json_string_value(text) : "-";
                body = json_pack("{s:O, s:s, s:O?, s:O?}", "id", json_object_get(event, "id"), "text", said, "email",
                                 json_object_get(data, "email"), "facts", json_object_get(event, "facts"));
                accepted = 1;
                path = "/v1/feedback";
                json_decref(event);
                taken++;
                break;
            }
            json_array_append_new(events, event);
        }
        if (!body && events && json_array_size(events)) {
            accepted = json_array_size(events);
            body = json_pack("{s:O}", "events", events);
            if (to->trail) lc_send_trail(to->base, to->trail, events, to->deadline); /* GETs before the POST */
        }
        json_decref(events);
        if (body) {
            lc_refusal refusal = {"", NULL, -1};
            rc = lc_exchange(to->base, "POST", path, body, to->device, to->secret, (long)(to->deadline - lc_monotonic_ms()),
                             &answer, &refusal);
            json_decref(answer);
            json_decref(body);
            if (rc == LICENTIA_OK) *sent += accepted; /* acknowledged: only now may the events leave the disk */
            if (rc == LICENTIA_OK || (rc == LICENTIA_E_REFUSED && strcmp(refusal.code, LICENTIA_REFUSAL_VALIDATION_ERROR) == 0)) {
                remove_files(dir, names, taken);
                rc = LICENTIA_OK;
            }
            lc_refusal_clear(&refusal);
        }
        lc_free_names(names, count);
    }
    free(dir);
    return rc;
}
