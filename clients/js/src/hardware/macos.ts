/**
 * macOS readers: `IOPlatformUUID` from `/usr/sbin/ioreg` (the IOKit registry's
 * documented command) and `uname -p`, turned into raw values by `recorded.macosHardware`.
 */

import { runQuietly, type CommandRunner } from "./commands";

/** What `ioreg -rd1 -c IOPlatformExpertDevice` printed, or null when it could not run. */
export function ioreg(run: CommandRunner): Promise<string | null> {
  return runQuietly(run, "/usr/sbin/ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]);
}

/** `uname -p` (Python's `platform.processor()` on macOS: `arm` or `i386`). */
export async function processorWord(run: CommandRunner): Promise<string | null> {
  return (await runQuietly(run, "/usr/bin/uname", ["-p"]))?.trim() || null;
}
