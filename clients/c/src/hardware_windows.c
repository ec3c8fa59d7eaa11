/*
 * Windows hardware readers, through the documented calls the Python SDK uses:
 * MachineGuid and the CPU from the registry (RegGetValueW, 64-bit view), the
 * serial of the volume holding the data directory (GetVolumeInformationW,
 * written as 8 hex digits), and the first physical Ethernet or Wi-Fi
 * adapter's own address (GetAdaptersAddresses). No subprocess.
 */
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#include <iphlpapi.h>
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
    wchar_t path[1024], root[1024];
    DWORD serial = 0;
    out[0] = '\0';
    if (MultiByteToWideChar(CP_UTF8, 0, data_dir, -1, path, 1024) <= 0 || !GetVolumePathNameW(path, root, 1024)) return;
    if (GetVolumeInformationW(root, NULL, 0, &serial, NULL, NULL, NULL, 0) && serial)
        snprintf(out, size, "%08lX", (unsigned long)serial);
}

static void cpu_identity(char *out, size_t size) {
    static const wchar_t key[] = L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0";
    char vendor[256], identifier[256], name[256];
    int found = (registry_string(key, L"VendorIdentifier", vendor, sizeof vendor) == 0) |
                (registry_string(key, L"Identifier", identifier, sizeof identifier) == 0) |
                (registry_string(key, L"ProcessorNameString", name, sizeof name) == 0);
    if (found) snprintf(out, size, "%s|%s|%s", vendor, identifier, name);
    else out[0] = '\0';
}

static void adapter_mac(char *out, size_t size) {
    ULONG bytes = 16384;
    IP_ADAPTER_ADDRESSES *list = NULL;
    ULONG rc = ERROR_BUFFER_OVERFLOW;
    out[0] = '\0';
    for (int attempt = 0; attempt < 3 && rc == ERROR_BUFFER_OVERFLOW; attempt++) {
        free(list);
        if (!(list = malloc(bytes))) return;
        rc = GetAdaptersAddresses(AF_UNSPEC, GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER,
                                  NULL, list, &bytes);
    }
    for (IP_ADAPTER_ADDRESSES *a = rc == NO_ERROR ? list : NULL; a; a = a->Next) {
        const BYTE *m = a->PhysicalAddress;
        if ((a->IfType != IF_TYPE_ETHERNET_CSMACD && a->IfType != IF_TYPE_IEEE80211) || a->PhysicalAddressLength != 6)
            continue;
        /* Locally administered (virtual switches, VPNs, random Wi-Fi addresses) or multicast: not the card's own. */
        if ((m[0] & 0x03) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) continue;
        snprintf(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        break;
    }
    free(list);
}

void lc_windows_hardware(const char *data_dir, lc_raw_hardware *raw) {
    registry_string(L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid", raw->machine, sizeof raw->machine);
    volume_serial(data_dir, raw->disk, sizeof raw->disk);
    cpu_identity(raw->cpu, sizeof raw->cpu);
    adapter_mac(raw->mac, sizeof raw->mac);
}
#endif
