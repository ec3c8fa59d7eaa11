/* The server's small value store (per device or per license) and the latest release on the app's channel. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "http.h"

static char *escaped(const char *text) {
    CURL *curl = curl_easy_init();
    char *e = curl ? curl_easy_escape(curl, text, 0) : NULL;
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    if (curl) curl_easy_cleanup(curl);
    return copy;
}

/* One exchange with the device's credential (a first contact first, when there is none yet). */
static licentia_error with_credential(licentia *h, const char *method, const char *path, const json_t *body, json_t **answer) {
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    licentia_status *ignored = NULL;
    licentia_error rc = state.device ? LICENTIA_OK : lc_device_call(&c, "/v1/check", NULL, &ignored);
    licentia_status_free(ignored);
    if (rc == LICENTIA_OK || rc == LICENTIA_E_IO)
        rc = lc_exchange(h->server_url, method, path, body, state.device, state.secret, (long)(c.deadline - lc_monotonic_ms()),
                         answer, &h->refusal);
    lc_call_end(&c);
    return rc;
}

static char *value_path(const char *key, const char *scope) {
    char *k = escaped(key);
    size_t n = k ? strlen(k) + 40 : 0;
    char *path = k ? malloc(n) : NULL;
    if (path) snprintf(path, n, "/v1/values/%s?scope=%s", k, scope && !strcmp(scope, "license") ? "license" : "device");
    free(k);
    return path;
}

static licentia_error take_json(const json_t *value, char **out) {
    lc_buf buf = {0};
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) return LICENTIA_E_NOMEM;
    lc_buf_puts(&buf, text);
    free(text);
    return (*out = lc_buf_take(&buf)) ? LICENTIA_OK : LICENTIA_E_NOMEM;
}

licentia_error licentia_value_get(licentia *h, const char *key, const char *scope, char **json_out) {
    if (!h || !key || !json_out) return LICENTIA_E_ARGUMENT;
    *json_out = NULL;
    char *path = value_path(key, scope);
    json_t *answer = NULL;
    licentia_error rc = path ? with_credential(h, "GET", path, NULL, &answer) : LICENTIA_E_NOMEM;
    free(path);
    if (rc == LICENTIA_OK) {
        const json_t *value = json_object_get(answer, "value");
        rc = value ? take_json(value, json_out) : LICENTIA_E_OFFLINE;
    }
    json_decref(answer);
    return rc;
}

licentia_error licentia_value_set(licentia *h, const char *key, const char *scope, const char *json_value) {
    if (!h || !key || !json_value) return LICENTIA_E_ARGUMENT;
    json_t *value = lc_parse(json_value, strlen(json_value));
    if (!value) return LICENTIA_E_ARGUMENT;
    json_t *body = json_pack("{s:o}", "value", value), *answer = NULL;
    char *path = value_path(key, scope);
    licentia_error rc = body && path ? with_credential(h, "PUT", path, body, &answer) : LICENTIA_E_NOMEM;
    free(path);
    json_decref(body);
    json_decref(answer);
    return rc;
}

licentia_error licentia_latest_release(licentia *h, char **json_out) {
    if (!h || !json_out) return LICENTIA_E_ARGUMENT;
    *json_out = NULL;
    lc_mutex_lock(&h->lock);
    char *product = escaped(h->product), *channel = escaped(h->channel), *current = h->app_version ? escaped(h->app_version) : NULL;
    long timeout = h->timeout_ms;
    lc_mutex_unlock(&h->lock);
    size_t n = (product ? strlen(product) : 0) + (channel ? strlen(channel) : 0) + (current ? strlen(current) : 0) + 80;
    char *path = product && channel ? malloc(n) : NULL;
    json_t *answer = NULL;
    licentia_error rc = LICENTIA_E_NOMEM;
    if (path) {
        snprintf(path, n, "/v1/releases/latest?product=%s&channel=%s%s%s", product, channel, current ? "&current=" : "",
                 current ? current : "");
        rc = lc_exchange(h->server_url, "GET", path, NULL, NULL, NULL, timeout, &answer, NULL);
    }
    /* A release is shown to the user: only its known fields, and a download link only over https. */
    json_t *release = rc == LICENTIA_OK ? lc_release_of(answer) : NULL;
    if (release) rc = take_json(release, json_out);
    json_decref(release);
    free(path), free(product), free(channel), free(current);
    json_decref(answer);
    return rc;
}
