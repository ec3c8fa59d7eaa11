/*
 * JSON over HTTP with libcurl: one deadline for the whole exchange, answers
 * read up to a size limit, no redirects, http and https only. Each call has
 * its own easy handle, so handles on different threads share nothing.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

#define MAX_ANSWER_BYTES (1 << 20)

static size_t collect(char *data, size_t size, size_t count, void *user) {
    lc_buf *answer = user;
    size_t n = size * count;
    if (answer->len + n > MAX_ANSWER_BYTES || lc_buf_append(answer, data, n) != 0) return 0; /* aborts the transfer */
    return n;
}

licentia_error lc_http(const char *url, const char *method, const char *body, const char *device, const char *secret,
                       long timeout_ms, long *status, lc_buf *answer) {
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char *auth = NULL;
    if (!curl) return LICENTIA_E_NOMEM;
    *status = 0;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "User-Agent: licentia-client-c");
    if (body) headers = curl_slist_append(headers, "Content-Type: application/json");
    if (device && secret) {
        size_t n = strlen(device) + strlen(secret) + 32;
        auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: Device %s:%s", device, secret);
            headers = curl_slist_append(headers, auth);
        }
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > 50 ? timeout_ms : 50);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* thread safety: no SIGALRM for DNS timeouts */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return answer->failed ? LICENTIA_E_NOMEM : LICENTIA_E_OFFLINE;
    return LICENTIA_OK;
}

licentia_error lc_exchange(const char *base, const char *method, const char *path, const json_t *body, const char *device,
                           const char *secret, long timeout_ms, json_t **answer, char *refusal, size_t refusal_size) {
    *answer = NULL;
    if (timeout_ms <= 0) return LICENTIA_E_OFFLINE;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t n = strlen(base) + strlen(path) + 1;
    char *url = malloc(n);
    if ((body && !text) || !url) {
        free(text), free(url);
        return LICENTIA_E_NOMEM;
    }
    snprintf(url, n, "%s%s", base, path);
    lc_buf raw = {0};
    long status;
    licentia_error rc = lc_http(url, method, text, device, secret, timeout_ms, &status, &raw);
    free(url);
    free(text);
    if (rc == LICENTIA_OK) {
        json_t *parsed = lc_parse(raw.data ? raw.data : "", raw.len);
        if (status >= 500 || (status < 400 && !parsed)) {
            rc = LICENTIA_E_OFFLINE; /* up but unable to answer, or garbage: as good as no answer */
        } else if (status >= 400) {
            const json_t *code = json_object_get(json_object_get(parsed, "error"), "code");
            if (refusal) snprintf(refusal, refusal_size, "%s", json_is_string(code) ? json_string_value(code) : LICENTIA_REFUSAL_HTTP_ERROR);
            rc = LICENTIA_E_REFUSED;
        } else {
            *answer = parsed;
            parsed = NULL;
        }
        json_decref(parsed);
    }
    lc_buf_free(&raw);
    return rc;
}
