/*
 * Linux hardware readers, built on every POSIX system so tests run them on
 * fake trees anywhere: plain file reads under a root ("/" in production, a
 * fake tree in tests), no subprocess; the same sources and value forms as the
 * Python and TypeScript SDKs, so one machine gives all three the same hashes.
 * A value that cannot be read is left out, never an error.
 */
#ifndef _WIN32
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hardware.h"
#include "platform.h"

#define PATH_MAX_LEN 4096

static int read_text(const char *root, const char *rel, char *out, size_t size) {
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(out, 1, size - 1, f);
    fclose(f);
    out[n] = '\0';
    /* strip like Python's str.strip() for the white space these files hold */
    char *start = out;
    while (*start == ' ' || *start == '\n' || *start == '\t' || *start == '\r') start++;
    size_t len = strlen(start);
    while (len && (start[len - 1] == ' ' || start[len - 1] == '\n' || start[len - 1] == '\t' || start[len - 1] == '\r'))
        len--;
    memmove(out, start, len);
    out[len] = '\0';
    return 0;
}

static int exists(const char *root, const char *rel) {
    char path[PATH_MAX_LEN];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return stat(path, &st) == 0;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int machine_id(const char *root, char *out, size_t size) {
    static const char *files[] = {"etc/machine-id", "var/lib/dbus/machine-id"};
    for (size_t i = 0; i < 2; i++) {
        if (read_text(root, files[i], out, size) == 0 && out[0] && strspn(out, "0") != strlen(out)) return 0;
    }
    return -1;
}

static int cpu_identity(const char *root, char *out, size_t size) {
    static const char *x86[] = {"vendor_id", "cpu family", "model", "model name", "stepping"};
    static const char *arm[] = {"cpu implementer", "cpu architecture", "cpu variant", "cpu part", "cpu revision"};
    char *text = malloc(32768);
    char values[5][256] = {{0}};
    if (!text) return -1;
    if (read_text(root, "proc/cpuinfo", text, 32768) != 0) {
        free(text);
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        const char **fields = pass ? arm : x86;
        int any = 0, seen_block = 0;
        memset(values, 0, sizeof values);
        for (char *line = text, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            size_t len = next ? (size_t)(next - line) : strlen(line);
            if (next) next++;
            char copy[512];
            if (len >= sizeof copy) len = sizeof copy - 1;
            memcpy(copy, line, len);
            copy[len] = '\0';
            if (strspn(copy, " \t\r") == len) {
                if (seen_block) break; /* only the first processor's block */
                continue;
            }
            seen_block = 1;
            char *colon = strchr(copy, ':');
            if (!colon) continue;
            *colon = '\0';
            char *key = copy, *value = colon + 1;
            while (*value == ' ' || *value == '\t') value++;
            size_t kl = strlen(key);
            while (kl && (key[kl - 1] == ' ' || key[kl - 1] == '\t')) key[--kl] = '\0';
            size_t vl = strlen(value);
            while (vl && (value[vl - 1] == ' ' || value[vl - 1] == '\r')) value[--vl] = '\0';
            for (char *k = key; *k; k++) *k = (char)((*k >= 'A' && *k <= 'Z') ? *k + 32 : *k);
            for (int f = 0; f < 5; f++)
                if (strcmp(key, fields[f]) == 0 && !values[f][0] && vl) {
                    snprintf(values[f], sizeof values[f], "%s", value);
                    any = 1;
                }
        }
        if (any) {
            snprintf(out, size, "%s|%s|%s|%s|%s", values[0], values[1], values[2], values[3], values[4]);
            free(text);
            return 0;
        }
    }
    free(text);
    return -1;
}

static int is_virtual_nic(const char *name) {
    static const char *prefixes[] = {"lo", "docker", "veth", "br-", "br", "virbr", "vmnet", "vboxnet", "tun", "tap",
                                     "wg", "ifb", "dummy", "bond", "team", "cni", "flannel", "cali", "zt", "tailscale"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

static int permanent_mac(const char *root, char *out, size_t size) {
    char net[PATH_MAX_LEN], rel[PATH_MAX_LEN], value[64];
    size_t count;
    snprintf(net, sizeof net, "%s/sys/class/net", root);
    char **names = lc_list_dir(net, "", &count);
    int found = -1;
    for (size_t i = 0; names && i < count && found != 0; i++) {
        if (is_virtual_nic(names[i])) continue;
        snprintf(rel, sizeof rel, "sys/class/net/%s/device", names[i]);
        if (!exists(root, rel)) continue; /* no bus device behind it: virtual */
        snprintf(rel, sizeof rel, "sys/class/net/%s/addr_assign_type", names[i]);
        if (read_text(root, rel, value, sizeof value) == 0 && strcmp(value, "0") != 0) continue;
        snprintf(rel, sizeof rel, "sys/class/net/%s/address", names[i]);
        if (read_text(root, rel, value, sizeof value) != 0 || strlen(value) != 17) continue;
        for (char *c = value; *c; c++) *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
        unsigned first = (unsigned)strtoul(value, NULL, 16);
        if (strcmp(value, "00:00:00:00:00:00") == 0 || (first & 0x03)) continue; /* set by software, or multicast */
        snprintf(out, size, "%s", value);
        found = 0;
    }
    lc_free_names(names, count);
    return found;
}

static void unescape_mount(char *s) {
    static const struct { const char *code; char c; } map[] = {{"\\040", ' '}, {"\\011", '\t'}, {"\\012", '\n'}, {"\\134", '\\'}};
    char *w = s;
    for (char *r = s; *r;) {
        int done = 0;
        for (size_t i = 0; i < 4 && !done; i++)
            if (strncmp(r, map[i].code, 4) == 0) *w++ = map[i].c, r += 4, done = 1;
        if (!done) *w++ = *r++;
    }
    *w = '\0';
}

static int disk_serial(const char *root, const char *data_dir, char *out, size_t size) {
    char *text = malloc(1 << 20);
    char best[256] = "";
    size_t best_len = 0;
    int have = 0;
    if (!text) return -1;
    if (read_text(root, "proc/self/mountinfo", text, 1 << 20) != 0) {
        free(text);
        return -1;
    }
    char *saveptr = NULL;
    for (char *line = strtok_r(text, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr)) {
        char *sep = strstr(line, " - ");
        if (!sep) continue;
        *sep = '\0';
        char point[PATH_MAX_LEN], source[256];
        char fstype[64];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 || sscanf(sep + 3, "%63s %255s", fstype, source) != 2) continue;
        unescape_mount(point);
        size_t pl = strlen(point);
        while (pl > 1 && point[pl - 1] == '/') point[--pl] = '\0';
        int inside = strcmp(point, "/") == 0 || strcmp(data_dir, point) == 0 ||
                     (strncmp(data_dir, point, pl) == 0 && data_dir[pl] == '/');
        if (inside && (!have || pl > best_len)) {
            snprintf(best, sizeof best, "%s", source);
            best_len = pl, have = 1;
        }
    }
    free(text);
    if (!have || strncmp(best, "/dev/", 5) != 0) return -1; /* overlay, tmpfs, network share */
    const char *part = strrchr(best, '/') + 1;
    char block[PATH_MAX_LEN], path[PATH_MAX_LEN], disk[256] = "";
    snprintf(block, sizeof block, "%s/sys/block", root);
    snprintf(path, sizeof path, "%s/%s", block, part);
    if (is_dir(path)) {
        snprintf(disk, sizeof disk, "%s", part);
    } else {
        size_t count;
        char **disks = lc_list_dir(block, "", &count);
        for (size_t i = 0; disks && i < count && !disk[0]; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", block, disks[i], part);
            if (is_dir(path)) snprintf(disk, sizeof disk, "%s", disks[i]);
        }
        lc_free_names(disks, count);
    }
    if (!disk[0]) return -1;
    static const char *candidates[] = {"device/serial", "serial", "device/wwid"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "sys/block/%s/%s", disk, candidates[i]);
        if (read_text(root, path, out, size) == 0 && out[0]) return 0;
    }
    size_t count;
    snprintf(path, sizeof path, "%s/dev/disk/by-id", root);
    char **links = lc_list_dir(path, "", &count);
    int found = -1;
    for (size_t i = 0; links && i < count && found != 0; i++) {
        const char *l = links[i];
        if (!strncmp(l, "wwn-", 4) || !strncmp(l, "dm-", 3) || !strncmp(l, "lvm-", 4) || !strncmp(l, "md-", 3) || strstr(l, "-part"))
            continue;
        char link[PATH_MAX_LEN], target[PATH_MAX_LEN];
        snprintf(link, sizeof link, "%s/%s", path, l);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
        if (strcmp(base, disk) == 0) {
            snprintf(out, size, "%s", l);
            found = 0;
        }
    }
    lc_free_names(links, count);
    return found;
}

void lc_linux_hardware(const char *root, const char *data_dir, lc_raw_hardware *raw) {
    if (machine_id(root, raw->machine, sizeof raw->machine) != 0) raw->machine[0] = '\0';
    if (disk_serial(root, data_dir, raw->disk, sizeof raw->disk) != 0) raw->disk[0] = '\0';
    if (cpu_identity(root, raw->cpu, sizeof raw->cpu) != 0) raw->cpu[0] = '\0';
    if (permanent_mac(root, raw->mac, sizeof raw->mac) != 0) raw->mac[0] = '\0';
}

#endif
