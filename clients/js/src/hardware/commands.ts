/**
 * How the Windows and macOS readers ask the system: documented commands run
 * by absolute path (never through a shell or PATH, which another program could
 * shadow), with a short timeout. Tests pass a `CommandRunner` that answers
 * from recorded outputs.
 */

import { execFileSync } from "node:child_process";

/** Run `file` with `args`; its standard output, or null when it cannot run or fails. */
export type CommandRunner = (file: string, args: readonly string[]) => string | null;

export const runCommand: CommandRunner = (file, args) => {
  try {
    return execFileSync(file, [...args], { encoding: "utf8", timeout: 2000, windowsHide: true, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return null;
  }
};

/** Network interfaces as `os.networkInterfaces()` lists them (injectable for tests). */
export type InterfaceList = Record<string, { mac: string; internal: boolean }[] | undefined>;
