/*
 * The pure halves of the macOS and Windows readers: what the Python SDK reads from a command's
 * output or a system call's answer, turned into the same raw value. Built everywhere, so the tests
 * hold them to recorded outputs on Linux (tests/test_readers.c, tests/fixtures/).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hardware.h"

/* hardware/macos.py: the first "IOPlatformUUID" = "<hex and dashes>" of `ioreg -rd1 -c IOPlatformExpertDevice`. */
int lc_ioreg_platform_uuid(const char *text, char *out, size_t size) {
    static const char key[] = "\"IOPlatformUUID\"";
    out[0] = '\0';
    for (const char *p = text ? strstr(text, key) : NULL; p; p = strstr(p + 1, key)) {
        const char *q = p + sizeof key - 1;
        while (isspace((unsigned char)*q)) q++;
        if (*q++ != '=') continue;
        while (isspace((unsigned char)*q)) q++;
        if (*q++ != '"') continue;
        size_t n = strspn(q, "0123456789ABCDEFabcdef-");
        if (n == 0 || q[n] != '"' || n >= size) continue;
        memcpy(out, q, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* hardware/generic.py: a node that is locally administered or multicast (random) is no MAC at all. */
int lc_format_node(const unsigned char node[6], char *out, size_t size) {
    out[0] = '\0';
    if (node[0] & 0x03) return -1;
    snprintf(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", node[0], node[1], node[2], node[3], node[4], node[5]);
    return 0;
}

static int same_word(const char *word, size_t len, const char *lower) {
    if (len != strlen(lower)) return 0;
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)word[i]) != lower[i]) return 0;
    return 1;
}

/* Six parts of two hex digits separated by colons (uuid._parse_mac on macOS). */
static int parse_mac(const char *word, size_t len, unsigned char node[6]) {
    if (len != 17) return -1;
    for (int i = 0; i < 6; i++) {
        const char *part = word + i * 3;
        if (!isxdigit((unsigned char)part[0]) || !isxdigit((unsigned char)part[1]) || (i < 5 && part[2] != ':')) return -1;
        char hex[3] = {part[0], part[1], '\0'};
        node[i] = (unsigned char)strtoul(hex, NULL, 16);
    }
    return 0;
}

/*
 * uuid.getnode() on macOS (uuid._ifconfig_getnode): in `ifconfig` output, the word after "hwaddr",
 * "ether", "address:" or "lladdr" (lower-cased); the first universally administered address, else
 * the first local one, which generic.mac_address then drops, as it drops a multicast one. 0: a MAC in
 * out; 1: an address found but none kept (the next `ifconfig` arguments are not tried then); -1: none.
 */
int lc_ifconfig_mac(const char *text, char *out, size_t size) {
    static const char *keywords[] = {"hwaddr", "ether", "address:", "lladdr"};
    unsigned char node[6];
    int local = 0;
    out[0] = '\0';
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        const char *prev = NULL;
        size_t prev_len = 0;
        for (size_t i = 0; i < line_len;) {
            while (i < line_len && isspace((unsigned char)line[i])) i++;
            size_t start = i;
            while (i < line_len && !isspace((unsigned char)line[i])) i++;
            if (i == start) break;
            const char *word = line + start;
            size_t len = i - start;
            int after_keyword = 0;
            for (size_t k = 0; prev && k < 4; k++) after_keyword |= same_word(prev, prev_len, keywords[k]);
            if (after_keyword && parse_mac(word, len, node) == 0) {
                if (!(node[0] & 0x02)) return lc_format_node(node, out, size) == 0 ? 0 : 1; /* universal (multicast: none) */
                local = 1;
            }
            prev = word, prev_len = len;
        }
        line = end ? end + 1 : NULL;
    }
    return local ? 1 : -1;
}

/* hardware/macos.py cpu_identity: platform.machine() and platform.processor(), the non-empty ones joined by "|". */
void lc_join_cpu(const char *machine, const char *processor, char *out, size_t size) {
    int m = machine && *machine, p = processor && *processor;
    snprintf(out, size, "%s%s%s", m ? machine : "", m && p ? "|" : "", p ? processor : "");
}

/*
 * hardware/windows.py volume_serial: the anchor of the absolute data path (pathlib: drive and root,
 * "C:\\", "\\\\server\\share\\"; "/" is a separator too), where GetVolumeInformationW is asked;
 * "C:\\" when the path has none.
 */
void lc_windows_anchor(const char *path, char *out, size_t size) {
    char p[1024];
    size_t n = 0;
    for (; path && path[n] && n < sizeof p - 1; n++) p[n] = path[n] == '/' ? '\\' : path[n];
    p[n] = '\0';
    if (n >= 2 && isalpha((unsigned char)p[0]) && p[1] == ':') {
        snprintf(out, size, "%c:%s", p[0], p[2] == '\\' ? "\\" : ""); /* "E:" alone has no root */
        return;
    }
    if (n > 2 && p[0] == '\\' && p[1] == '\\') {
        if ((p[2] == '?' || p[2] == '.') && p[3] == '\\') { /* \\?\C:\... and \\.\C:\... */
            if (isalpha((unsigned char)p[4]) && p[5] == ':') {
                snprintf(out, size, "\\\\%c\\%c:\\", p[2], p[4]);
                return;
            }
        }
        const char *server = p + 2, *share = strchr(server, '\\');
        if (share && share > server && share[1]) {
            const char *after = strchr(share + 1, '\\');
            size_t len = after ? (size_t)(after - p) : n;
            snprintf(out, size, "%.*s\\", (int)len, p);
            return;
        }
    }
    snprintf(out, size, "C:\\");
}

/*
 * str(pathlib.PurePosixPath(cwd, path)) for a relative path, or of path alone (Path.absolute() on
 * POSIX): repeated separators and "." parts dropped, a trailing one too, ".." and a leading "//" kept
 * (three or more leading separators are one). Nothing resolves links, "~" or "..". Malloc'd.
 */
char *lc_posix_absolute(const char *cwd, const char *path) {
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *joined = malloc(n), *out = malloc(n + 2);
    if (!joined || !out) {
        free(joined), free(out);
        return NULL;
    }
    if (path[0] == '/') snprintf(joined, n, "%s", path);
    else snprintf(joined, n, "%s/%s", cwd, path);
    size_t lead = strspn(joined, "/"), o = 0;
    if (lead == 2) out[o++] = '/';
    out[o++] = '/';
    size_t root = o;
    for (char *p = joined + lead; *p;) {
        size_t len = strcspn(p, "/");
        if (len && !(len == 1 && p[0] == '.')) {
            if (o > root) out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
        p += strspn(p, "/");
    }
    out[o] = '\0';
    free(joined);
    return out;
}

/* A registry value as hardware/windows.py keeps it: trimmed of white space, blank as absent. */
static void trimmed(const char *value, char *out, size_t size) {
    const char *start = value ? value + strspn(value, " \t\r\n\v\f") : "";
    size_t len = strlen(start);
    while (len && strchr(" \t\r\n\v\f", start[len - 1])) len--;
    snprintf(out, size, "%.*s", (int)len, start);
}

void lc_windows_raw(const lc_windows_recorded *r, lc_raw_hardware *raw, char *volume, size_t volume_size) {
    char parts[3][256];
    memset(raw, 0, sizeof *raw);
    trimmed(r->machine_guid, raw->machine, sizeof raw->machine);
    /* The volume of the data directory made absolute: its drive or share (the working directory's without one). */
    char *absolute = lc_windows_absolute(r->cwd ? r->cwd : "C:\\", r->data_dir ? r->data_dir : "");
    lc_windows_anchor(absolute ? absolute : "", volume, volume_size);
    free(absolute);
    if (r->volume_serial) snprintf(raw->disk, sizeof raw->disk, "%08lX", (unsigned long)r->volume_serial);
    int any = 0;
    for (int i = 0; i < 3; i++) trimmed(r->cpu[i], parts[i], sizeof parts[i]), any |= parts[i][0] != '\0';
    if (any) snprintf(raw->cpu, sizeof raw->cpu, "%s|%s|%s", parts[0], parts[1], parts[2]);
    else lc_join_cpu(r->machine, r->processor, raw->cpu, sizeof raw->cpu);
    unsigned char node[6];
    for (int i = 0; i < 6; i++) node[i] = (unsigned char)(r->node >> (40 - 8 * i));
    lc_format_node(node, raw->mac, sizeof raw->mac);
}

static int strncasecmp_ascii(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 1;
    return 0;
}

/* Split a Windows path (separators already '\\') into its drive ("C:", "\\\\server\\share" or "") and the rest. */
static size_t windows_drive(const char *p) {
    if (isalpha((unsigned char)p[0]) && p[1] == ':') return 2;
    if (p[0] == '\\' && p[1] == '\\' && p[2] && p[2] != '\\') {
        const char *share = strchr(p + 2, '\\');
        if (share && share[1] && share[1] != '\\') {
            const char *end = strchr(share + 1, '\\');
            return end ? (size_t)(end - p) : strlen(p);
        }
    }
    return 0;
}

/*
 * str(pathlib.PureWindowsPath) of Path(path).absolute() with working directory cwd: "/" is "\\",
 * repeated separators and "." parts dropped, a trailing one too, ".." and the case kept; a relative
 * path joined to cwd, one rooted without a drive taking cwd's drive. Malloc'd.
 */
char *lc_windows_absolute(const char *cwd, const char *path) {
    size_t n = strlen(cwd) + strlen(path) + 4;
    char *p = malloc(n), *c = malloc(n), *out = malloc(n);
    if (!p || !c || !out) {
        free(p), free(c), free(out);
        return NULL;
    }
    for (size_t i = 0; i <= strlen(path); i++) p[i] = path[i] == '/' ? '\\' : path[i];
    for (size_t i = 0; i <= strlen(cwd); i++) c[i] = cwd[i] == '/' ? '\\' : cwd[i];
    size_t drive = windows_drive(p), cwd_drive = windows_drive(c);
    char *joined = malloc(n * 2);
    if (!joined) {
        free(p), free(c), free(out);
        return NULL;
    }
    if (drive && p[drive] == '\\') snprintf(joined, n * 2, "%s", p);                                 /* absolute */
    else if (!drive && p[0] == '\\') snprintf(joined, n * 2, "%.*s%s", (int)cwd_drive, c, p);      /* rooted: cwd's drive */
    else if (drive && (drive != cwd_drive || strncasecmp_ascii(p, c, drive))) snprintf(joined, n * 2, "%.*s\\%s", (int)drive, p, p + drive);
    else snprintf(joined, n * 2, "%s\\%s", c, p + drive);                                          /* relative */
    drive = windows_drive(joined);
    size_t o = 0;
    memcpy(out, joined, drive), o = drive;
    out[o++] = '\\';
    size_t root = o;
    for (char *q = joined + drive; *q;) {
        size_t len = strcspn(q, "\\");
        if (len && !(len == 1 && q[0] == '.')) {
            if (o > root) out[o++] = '\\';
            memcpy(out + o, q, len);
            o += len;
        }
        q += len;
        q += strspn(q, "\\");
    }
    out[o] = '\0';
    free(p), free(c), free(joined);
    return out;
}
