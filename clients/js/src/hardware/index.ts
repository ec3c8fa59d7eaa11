/**
 * Raw hardware identifiers, read per operating system. Raw values never leave
 * the SDK unhashed (see `fingerprint.ts`); a reader that cannot read a value
 * gives null, never an error.
 */

import { networkInterfaces, arch as osArch } from "node:os";

import { runCommand, type CommandRunner, type InterfaceList } from "./commands";
import * as linux from "./linux";
import * as macos from "./macos";
import * as windows from "./windows";

export type { CommandRunner, InterfaceList } from "./commands";

export interface RawHardware {
  machine: string | null;
  disk: string | null;
  cpu: string | null;
  mac: string | null;
  virtualSignals: string[];
}

/** Where the readers look: the real system by default, fakes in tests. */
export interface HardwareSource {
  platform?: NodeJS.Platform;
  /** A fake filesystem root for the Linux readers (`/` by default). */
  root?: string;
  run?: CommandRunner;
  interfaces?: () => InterfaceList;
  env?: NodeJS.ProcessEnv;
  arch?: string;
}

/** The first network card's own address (by interface name): not internal, not set by software. */
export function firstMac(interfaces: InterfaceList): string | null {
  for (const name of Object.keys(interfaces).sort()) {
    for (const entry of interfaces[name] ?? []) {
      const mac = entry.mac.toLowerCase();
      if (entry.internal || mac.length !== 17 || mac === "00:00:00:00:00:00" || linux.isLocallyAdministered(mac)) continue;
      return mac;
    }
  }
  return null;
}

/** A reader's value, or null whatever it throws or gives (a fake of a test, a system that changed). */
async function quiet<T>(read: () => Promise<T> | T, fallback: T): Promise<T> {
  try {
    return await read();
  } catch {
    return fallback;
  }
}

function text(value: unknown): string | null {
  return typeof value === "string" && value ? value : null;
}

/** Read this machine's identifiers; every reader runs asynchronously and none ever throws. */
export async function readHardware(dataDir: string, source: HardwareSource = {}): Promise<RawHardware> {
  const platform = source.root !== undefined ? "linux" : (source.platform ?? process.platform);
  const run = source.run ?? runCommand;
  const env = source.env ?? process.env;
  const mac = (): Promise<string | null> => quiet(() => firstMac((source.interfaces ?? networkInterfaces)()), null);
  const arch = (): string => quietSync(() => source.arch ?? osArch(), "");
  let found: [unknown, unknown, unknown, unknown, unknown];
  if (platform === "linux" || platform === "android") {
    const root = source.root ?? "/";
    found = await Promise.all([
      quiet(() => linux.machineId(root), null),
      quiet(() => linux.diskSerial(root, dataDir), null),
      quiet(() => linux.cpuIdentity(root), null),
      quiet(() => linux.permanentMac(root), null),
      quiet(() => linux.virtualSignals(root), []),
    ]);
  } else if (platform === "win32") {
    found = await Promise.all([
      quiet(() => windows.machineGuid(run, env), null),
      quiet(() => windows.volumeSerial(run, env, dataDir), null),
      quiet(() => windows.cpuIdentity(run, env), null),
      mac(),
      [],
    ]);
  } else if (platform === "darwin") {
    found = await Promise.all([
      quiet(() => macos.platformUuid(run), null),
      null,
      quiet(() => macos.cpuIdentity(run, arch()), null),
      mac(),
      [],
    ]);
  } else {
    found = [null, null, arch() || null, await mac(), []];
  }
  const [machine, disk, cpu, card, signals] = found;
  return {
    machine: text(machine),
    disk: text(disk),
    cpu: text(cpu),
    mac: text(card),
    virtualSignals: Array.isArray(signals) ? signals.filter((s): s is string => typeof s === "string") : [],
  };
}

function quietSync<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
