/**
 * How the Windows and macOS readers ask the system: documented commands run
 * by absolute path (never through a shell or PATH, which another program could
 * shadow), with a short timeout. Tests pass a `CommandRunner` that answers
 * from recorded outputs.
 */

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * Run `file` with `args`; its standard output, or null when it cannot run or fails. Asynchronous
 * (never `execFileSync`: a blocked main process freezes an Electron window); a fake may answer at once.
 */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<string | null> | string | null;

export const runCommand: CommandRunner = async (file, args) => {
  try {
    const { stdout } = await execFileAsync(file, [...args], { encoding: "utf8", timeout: 2000, windowsHide: true, maxBuffer: 1 << 20 });
    return stdout;
  } catch {
    return null;
  }
};

/** `run(file, args)`, with whatever a runner throws taken as "cannot read". */
export async function runQuietly(run: CommandRunner, file: string, args: readonly string[]): Promise<string | null> {
  try {
    const out = await run(file, args);
    return typeof out === "string" ? out : null;
  } catch {
    return null;
  }
}

/** Network interfaces as `os.networkInterfaces()` lists them (injectable for tests). */
export type InterfaceList = Record<string, { mac: string; internal: boolean }[] | undefined>;
