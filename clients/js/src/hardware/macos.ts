/**
 * macOS readers: `IOPlatformUUID` from `/usr/sbin/ioreg` (the IOKit registry's
 * documented command) and the CPU brand from `/usr/sbin/sysctl`.
 */

import { runQuietly, type CommandRunner } from "./commands";

export function parsePlatformUuid(output: string): string | null {
  const found = /"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]+)"/.exec(output);
  return found ? (found[1] as string) : null;
}

export async function platformUuid(run: CommandRunner): Promise<string | null> {
  const out = await runQuietly(run, "/usr/sbin/ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]);
  return out === null ? null : parsePlatformUuid(out);
}

export async function cpuIdentity(run: CommandRunner, arch: string): Promise<string | null> {
  const brand = (await runQuietly(run, "/usr/sbin/sysctl", ["-n", "machdep.cpu.brand_string"]))?.trim();
  return [arch, brand].filter(Boolean).join("|") || null;
}
