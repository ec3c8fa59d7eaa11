/*
 * JSON over HTTP with libcurl: one deadline for the whole exchange, answers
 * read up to a size limit, no redirects, http and https only. Each call has
 * its own easy handle, so handles on different threads share nothing.
 */
#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

/* The oldest libcurl with every option used here (CURLOPT_PROTOCOLS came in 7.19.4); the Makefile
 * checks the same with pkg-config before compiling. */
#if LIBCURL_VERSION_NUM < 0x071304
#error "liblicentia needs libcurl 7.19.4 or later"
#endif

#define MAX_ANSWER_BYTES (1 << 20)
#define LC_STR_(x) #x
#define LC_STR(x) LC_STR_(x)

/* A credential part as the server makes them (lc_is_token's rule, on C text): 1-200 printable ASCII
 * characters. Anything else (a CR/LF in an edited state file) would become another header: never sent. */
static int is_token_text(const char *text) {
    size_t n = strlen(text);
    if (n == 0 || n > 200) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e) return 0;
    return 1;
}

static size_t collect(char *data, size_t size, size_t count, void *user) {
    lc_buf *answer = user;
    size_t n = size * count;
    if (answer->len + n > MAX_ANSWER_BYTES || lc_buf_append(answer, data, n) != 0) return 0; /* aborts the transfer */
    return n;
}

/*
 * Retry-After in seconds (the server never sends the HTTP-date form). Each status line starts a new
 * header block (an interim 100 Continue has its own), so only the final answer's counts.
 */
static size_t header(char *line, size_t size, size_t count, void *user) {
    long long *retry_after = user;
    size_t n = size * count;
    static const char name[] = "retry-after:";
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) *retry_after = -1;
    if (n > sizeof name - 1 && curl_strnequal(line, name, sizeof name - 1)) {
        size_t i = sizeof name - 1, digits = 0;
        long long seconds = 0;
        while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
        for (; i < n && isdigit((unsigned char)line[i]) && digits < 10; i++, digits++) seconds = seconds * 10 + (line[i] - '0');
        while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) i++;
        *retry_after = digits && digits < 10 && i == n ? seconds : -1; /* up to 31 years; anything else: none */
    }
    return n;
}

licentia_error lc_http(const char *url, const char *method, const char *body, const char *device, const char *secret,
                       long timeout_ms, long *status, lc_buf *answer, long long *retry_after) {
    long long ignored_retry;
    if (!retry_after) retry_after = &ignored_retry;
    *retry_after = -1;
    *status = 0;
    /* As the Python SDK (its HTTP library refuses such a header): no request, the call is offline. */
    if (device && secret && (!is_token_text(device) || !is_token_text(secret))) return LICENTIA_E_OFFLINE;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char *auth = NULL;
    if (!curl) return LICENTIA_E_NOMEM;
    *status = 0;
    headers = curl_slist_append(headers, "Accept: application/json");
    /* The client and the protocol it speaks, as every client says them. */
    headers = curl_slist_append(headers, "User-Agent: licentia-client-c/" LICENTIA_VERSION " (protocol " LC_STR(LICENTIA_PROTOCOL_VERSION) ")");
    headers = curl_slist_append(headers, "Licentia-Protocol: " LC_STR(LICENTIA_PROTOCOL_VERSION));
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
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 deprecated the bit mask for this string */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
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

void lc_refusal_clear(lc_refusal *refusal) {
    json_decref(refusal->details);
    refusal->code[0] = '\0';
    refusal->details = NULL;
    refusal->retry_after = -1;
}

void lc_refusal_word(lc_refusal *refusal, const char *word) {
    lc_refusal_clear(refusal);
    snprintf(refusal->code, sizeof refusal->code, "%s", word);
}

/* The error's code, and its plain fields (a refusal's figures: nothing nested reaches the application). */
static void take_refusal(const json_t *parsed, long long retry_after, lc_refusal *refusal) {
    const json_t *error = json_object_get(parsed, "error"), *code = json_object_get(error, "code");
    snprintf(refusal->code, sizeof refusal->code, "%s", json_is_string(code) ? json_string_value(code) : LICENTIA_REFUSAL_HTTP_ERROR);
    refusal->retry_after = retry_after;
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)error, name, value) {
        if (!strcmp(name, "code") || !(json_is_string(value) || json_is_integer(value) || json_is_boolean(value))) continue;
        if (!refusal->details && !(refusal->details = json_object())) return;
        json_object_set(refusal->details, name, value);
    }
}

licentia_error lc_exchange(const char *base, const char *method, const char *path, const json_t *body, const char *device,
                           const char *secret, long timeout_ms, json_t **answer, lc_refusal *refusal) {
    *answer = NULL;
    if (refusal) lc_refusal_clear(refusal);
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
    long long retry_after;
    licentia_error rc = lc_http(url, method, text, device, secret, timeout_ms, &status, &raw, &retry_after);
    free(url);
    free(text);
    if (rc == LICENTIA_OK) {
        json_t *parsed = lc_parse(raw.data ? raw.data : "", raw.len);
        if (status >= 500 || (status < 400 && !parsed)) {
            rc = LICENTIA_E_OFFLINE; /* up but unable to answer, or garbage: as good as no answer */
        } else if (status >= 400) {
            if (refusal) take_refusal(parsed, retry_after, refusal);
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
