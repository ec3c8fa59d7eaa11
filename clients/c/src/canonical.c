/*
 * Canonical JSON: the exact bytes that get signed, by the core's rules.
 * Written here rather than by json_dumps so that every byte (key order by code
 * point, which characters are escaped and how) is the core's, not a library
 * default that could change under us.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int lc_buf_append(lc_buf *buf, const char *bytes, size_t n) {
    if (buf->failed) return -1;
    if (buf->len + n + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + n + 1) cap *= 2;
        char *grown = realloc(buf->data, cap);
        if (!grown) {
            buf->failed = 1;
            return -1;
        }
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

int lc_buf_puts(lc_buf *buf, const char *text) { return lc_buf_append(buf, text, strlen(text)); }

char *lc_buf_take(lc_buf *buf) {
    if (buf->failed || lc_buf_append(buf, "", 0) != 0) {
        lc_buf_free(buf);
        return NULL;
    }
    char *data = buf->data;
    memset(buf, 0, sizeof *buf);
    return data;
}

void lc_buf_free(lc_buf *buf) {
    free(buf->data);
    memset(buf, 0, sizeof *buf);
}

json_t *lc_parse(const char *text, size_t length) {
    json_error_t error;
    return json_loadb(text, length, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
}

static int write_string(const char *s, size_t n, lc_buf *out) {
    static const char hex[] = "0123456789abcdef";
    lc_buf_append(out, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20) {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = '\0';
            esc = u;
        }
        if (esc) {
            lc_buf_append(out, s + start, i - start);
            lc_buf_puts(out, esc);
            start = i + 1;
        }
    }
    lc_buf_append(out, s + start, n - start);
    return lc_buf_append(out, "\"", 1);
}

typedef struct {
    const char *key;
    size_t len;
    json_t *value;
} member;

/* Byte order of UTF-8 is code point order: the core's sort. */
static int by_key(const void *a, const void *b) {
    const member *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int write_value(const json_t *v, lc_buf *out, int depth) {
    if (depth > 2048) return -1;
    switch (json_typeof(v)) {
    case JSON_NULL: return lc_buf_puts(out, "null");
    case JSON_TRUE: return lc_buf_puts(out, "true");
    case JSON_FALSE: return lc_buf_puts(out, "false");
    case JSON_STRING: return write_string(json_string_value(v), json_string_length(v), out);
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i == INT64_MIN) return -1; /* outside +-(2^63-1), the core's limit */
        char text[24];
        snprintf(text, sizeof text, "%lld", (long long)i);
        return lc_buf_puts(out, text);
    }
    case JSON_REAL: return -1; /* floats have no stable text form across languages */
    case JSON_ARRAY: {
        lc_buf_append(out, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) lc_buf_append(out, ",", 1);
            if (write_value(json_array_get(v, i), out, depth + 1) != 0) return -1;
        }
        return lc_buf_append(out, "]", 1);
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        member *members = calloc(n ? n : 1, sizeof *members);
        if (!members) return -1;
        const char *key;
        size_t key_len;
        json_t *item;
        json_object_keylen_foreach((json_t *)v, key, key_len, item) {
            members[i].key = key, members[i].len = key_len, members[i].value = item;
            i++;
        }
        qsort(members, n, sizeof *members, by_key);
        int rc = lc_buf_append(out, "{", 1);
        for (i = 0; i < n && rc == 0; i++) {
            if (i) lc_buf_append(out, ",", 1);
            write_string(members[i].key, members[i].len, out);
            lc_buf_append(out, ":", 1);
            rc = write_value(members[i].value, out, depth + 1);
        }
        free(members);
        return rc == 0 ? lc_buf_append(out, "}", 1) : -1;
    }
    }
    return -1;
}

int lc_canonical(const json_t *value, lc_buf *out) {
    if (write_value(value, out, 0) != 0 || out->failed) return -1;
    return 0;
}
