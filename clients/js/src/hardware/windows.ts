/**
 * Windows readers. The registry through `reg.exe query` (the documented
 * command-line view of `RegQueryValueEx`) and the volume serial through
 * `cmd.exe /d /c vol` (`GetVolumeInformationW`); values in the Python SDK's
 * forms (MachineGuid, 8 hex digits, vendor|identifier|name).
 */

import { join, win32 } from "node:path";

import { runQuietly, type CommandRunner } from "./commands";

function systemDir(env: NodeJS.ProcessEnv): string {
  return join(env.SystemRoot ?? env.windir ?? "C:\\Windows", "System32");
}

/** Values of one registry key from `reg query` output: `    Name    REG_SZ    value`. */
export function parseRegQuery(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split(/\r?\n/)) {
    const m = /^\s{2,}(\S(?:.*?\S)?)\s{2,}(REG_\w+)\s{2,}(.*?)\s*$/.exec(line) ?? /^\s{2,}(\S+)\s+(REG_\w+)\s+(.*?)\s*$/.exec(line);
    if (m) values.set((m[1] as string).toLowerCase(), m[3] as string);
  }
  return values;
}

async function registry(run: CommandRunner, env: NodeJS.ProcessEnv, key: string): Promise<Map<string, string>> {
  const out = await runQuietly(run, win32.join(systemDir(env), "reg.exe"), ["query", `HKLM\\${key}`, "/reg:64"]);
  return out === null ? new Map() : parseRegQuery(out);
}

export async function machineGuid(run: CommandRunner, env: NodeJS.ProcessEnv): Promise<string | null> {
  return (await registry(run, env, "SOFTWARE\\Microsoft\\Cryptography")).get("machineguid")?.trim() || null;
}

/** `vol` prints the serial as `1A2B-3C4D` after a localised label; the Python SDK writes `1A2B3C4D`. */
export function parseVolSerial(output: string): string | null {
  const found = /([0-9A-F]{4})-([0-9A-F]{4})\s*$/im.exec(output.trim());
  if (!found) return null;
  const serial = `${found[1]}${found[2]}`.toUpperCase();
  return serial === "00000000" ? null : serial;
}

export async function volumeSerial(run: CommandRunner, env: NodeJS.ProcessEnv, dataDir: string): Promise<string | null> {
  const drive = win32.parse(win32.resolve(dataDir)).root.replace(/\\$/, "") || "C:";
  if (!/^[A-Za-z]:$/.test(drive)) return null; // a UNC share: no volume of this machine
  const out = await runQuietly(run, win32.join(systemDir(env), "cmd.exe"), ["/d", "/c", "vol", drive]);
  return out === null ? null : parseVolSerial(out);
}

/** `VendorIdentifier`, `Identifier`, `ProcessorNameString` of `CentralProcessor\\0` as read (null: absent). */
export async function cpuValues(run: CommandRunner, env: NodeJS.ProcessEnv): Promise<(string | null)[]> {
  const values = await registry(run, env, "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0");
  return ["vendoridentifier", "identifier", "processornamestring"].map((n) => values.get(n) ?? null);
}

/** RegisteredOwner and RegisteredOrganization (client facts, when the application asks for them). */
export async function registeredOwner(run: CommandRunner, env: NodeJS.ProcessEnv): Promise<[string | null, string | null]> {
  const values = await registry(run, env, "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion");
  return [values.get("registeredowner")?.trim() || null, values.get("registeredorganization")?.trim() || null];
}
