/**
 * The macOS and Windows raw values as pure functions of what the system gave, the Python SDK's
 * (`hardware.macos.hardware`, `hardware.windows.hardware`); the `hardware_readers` vectors feed them
 * recorded outputs, the readers feed them what they read.
 */

import { win32 } from "node:path";

import type { RawHardware } from "./index";

/** The first `"IOPlatformUUID" = "<hex and dashes>"` that `ioreg` printed, as printed. */
export function uuidOf(ioreg: string | null): string | null {
  const found = ioreg ? /"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]+)"/.exec(ioreg) : null;
  return found ? (found[1] as string) : null;
}

/** `machine|processor` (`uname -m`, `uname -p`) without the empty ones; null when both are. */
export function cpuOf(machine: string | null, processor: string | null): string | null {
  return [machine, processor].filter((w) => w).join("|") || null;
}

/** A 48-bit MAC node as `aa:bb:cc:dd:ee:ff`; null when it is multicast or locally administered (made up). */
export function macOfNode(node: number | bigint | null): string | null {
  if (node === null) return null;
  const value = BigInt(node);
  if (value < 0n || value >= 1n << 48n) return null;
  const hex = value.toString(16).padStart(12, "0");
  if (parseInt(hex.slice(0, 2), 16) & 0x03) return null;
  return (hex.match(/../g) as string[]).join(":");
}

/** A registry value as the readers use it: its text, trimmed; null when absent or blank. */
export function registryText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value).trim() || null;
}

/** The root whose volume serial is read: the absolute data directory's drive or share (`C:\` without one). */
export function volumeRoot(absoluteDataDir: string): string {
  const unc = /^\\\\[^\\]+\\[^\\]+/.exec(absoluteDataDir);
  if (unc) return `${unc[0]}\\`;
  const drive = /^[A-Za-z]:/.exec(absoluteDataDir);
  return drive ? `${drive[0]}\\` : win32.parse(absoluteDataDir).root || "C:\\";
}

export function macosHardware(ioreg: string | null, machine: string | null, processor: string | null, node: number | bigint | null): RawHardware {
  return { machine: uuidOf(ioreg), disk: null, cpu: cpuOf(machine, processor), mac: macOfNode(node), virtualSignals: [] };
}

export function windowsHardware(
  machineGuid: unknown, volumeSerialNumber: number, cpuValues: readonly unknown[], machine: string | null, processor: string | null, node: number | bigint | null,
): RawHardware {
  const values = cpuValues.map(registryText);
  return {
    machine: registryText(machineGuid),
    disk: volumeSerialNumber ? volumeSerialNumber.toString(16).toUpperCase().padStart(8, "0") : null,
    cpu: values.some((v) => v) ? values.map((v) => v ?? "").join("|") : cpuOf(machine, processor),
    mac: macOfNode(node),
    virtualSignals: [],
  };
}

/** A MAC address text (`aa:bb:...`) as the node `uuid.getnode()` would give, or null. */
export function nodeOfMac(mac: string | null): number | null {
  return mac && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac) ? parseInt(mac.replace(/:/g, ""), 16) : null;
}
