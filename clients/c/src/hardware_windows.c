/*
 * Windows hardware readers, through the calls the Python SDK's hardware/windows.py makes:
 * MachineGuid and the CPU from the registry (RegGetValueW, 64-bit view; without any CPU value,
 * platform.machine() and platform.processor() as Python falls back to them, from the
 * environment), the serial of the volume at the anchor of the data directory
 * (GetVolumeInformationW on "C:\" or "\\server\share\", written as 8 hex digits), and the
 * node uuid.getnode() takes there: the last six bytes of UuidCreateSequential, dropped when random
 * or locally administered. No subprocess.
 */
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#include <rpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hardware.h"

#ifndef RRF_SUBKEY_WOW6464KEY
#define RRF_SUBKEY_WOW6464KEY 0x00010000
#endif

static int registry_string(const wchar_t *key, const wchar_t *name, char *out, size_t size) {
    wchar_t value[512];
    DWORD bytes = sizeof value;
    out[0] = '\0';
    if (RegGetValueW(HKEY_LOCAL_MACHINE, key, name, RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, NULL, value, &bytes) !=
        ERROR_SUCCESS)
        return -1;
    if (WideCharToMultiByte(CP_UTF8, 0, value, -1, out, (int)size, NULL, NULL) <= 0) {
        out[0] = '\0';
        return -1;
    }
    size_t len = strlen(out); /* strip, as the Python SDK does */
    while (len && (out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\r' || out[len - 1] == '\n')) out[--len] = '\0';
    size_t lead = strspn(out, " \t\r\n");
    memmove(out, out + lead, len - lead + 1);
    return out[0] ? 0 : -1;
}

static void volume_serial(const char *data_dir, char *out, size_t size) {
    char anchor[1024];
    wchar_t root[1024];
    DWORD serial = 0;
    out[0] = '\0';
    /* The drive's root, as pathlib's anchor gives it (not a volume mounted inside the drive). */
    lc_windows_anchor(data_dir, anchor, sizeof anchor);
    if (MultiByteToWideChar(CP_UTF8, 0, anchor, -1, root, 1024) <= 0) return;
    if (GetVolumeInformationW(root, NULL, 0, &serial, NULL, NULL, NULL, 0) && serial)
        snprintf(out, size, "%08lX", (unsigned long)serial);
}

static void cpu_identity(char *out, size_t size) {
    static const wchar_t key[] = L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0";
    char vendor[256], identifier[256], name[256];
    int found = (registry_string(key, L"VendorIdentifier", vendor, sizeof vendor) == 0) |
                (registry_string(key, L"Identifier", identifier, sizeof identifier) == 0) |
                (registry_string(key, L"ProcessorNameString", name, sizeof name) == 0);
    if (found) {
        snprintf(out, size, "%s|%s|%s", vendor, identifier, name);
    } else { /* generic.cpu_identity: platform.machine() | platform.processor() */
        const char *machine = getenv("PROCESSOR_ARCHITEW6432");
        if (!machine || !*machine) machine = getenv("PROCESSOR_ARCHITECTURE");
        const char *processor = getenv("PROCESSOR_IDENTIFIER");
        lc_join_cpu(machine, processor && *processor ? processor : machine, out, size);
    }
}

/* uuid.getnode() on Windows: the node of a sequential UUID (a network card's address, or random without one). */
static void node_mac(char *out, size_t size) {
    UUID uuid;
    out[0] = '\0';
    RPC_STATUS rc = UuidCreateSequential(&uuid);
    if (rc != RPC_S_OK && rc != RPC_S_UUID_LOCAL_ONLY && rc != RPC_S_UUID_NO_ADDRESS) return;
    lc_format_node(uuid.Data4 + 2, out, size); /* a random node has the multicast bit: dropped there */
}

void lc_windows_hardware(const char *data_dir, lc_raw_hardware *raw) {
    registry_string(L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid", raw->machine, sizeof raw->machine);
    volume_serial(data_dir, raw->disk, sizeof raw->disk);
    cpu_identity(raw->cpu, sizeof raw->cpu);
    node_mac(raw->mac, sizeof raw->mac);
}
#endif
