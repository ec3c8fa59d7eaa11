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
