/**
 * Raw hardware identifiers, read per operating system. Raw values never leave
 * the SDK unhashed (see `fingerprint.ts`); a reader that cannot read a value
 * gives null, never an error.
 */

import * as os from "node:os";

import { runCommand, type CommandRunner, type InterfaceList } from "./commands";
import * as linux from "./linux";
import * as macos from "./macos";
import { macosHardware, nodeOfMac, windowsHardware } from "./recorded";
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
  /** `uname -m`'s word on macOS (`os.machine()` by default). */
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
  const mac = (): Promise<string | null> => quiet(() => firstMac((source.interfaces ?? os.networkInterfaces)()), null);
  const arch = (): string => quietSync(() => source.arch ?? machineWord(), "");
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
    const [guid, serial, cpu, node] = await Promise.all([
      quiet(() => windows.machineGuid(run, env), null),
      quiet(() => windows.volumeSerial(run, env, dataDir), null),
      quiet(() => windows.cpuValues(run, env), [] as (string | null)[]),
      mac(),
    ]);
    const raw = windowsHardware(guid, serial ? parseInt(serial, 16) : 0, cpu, env.PROCESSOR_ARCHITECTURE ?? null, env.PROCESSOR_IDENTIFIER ?? null, nodeOfMac(node));
    found = [raw.machine, raw.disk, raw.cpu, raw.mac, []];
  } else if (platform === "darwin") {
    const [printed, processor, node] = await Promise.all([quiet(() => macos.ioreg(run), null), quiet(() => macos.processorWord(run), null), mac()]);
    const raw = macosHardware(printed, arch() || null, processor, nodeOfMac(node));
    found = [raw.machine, raw.disk, raw.cpu, raw.mac, []];
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

/** Python's `platform.machine()`: `arm64`, `x86_64`, ... (`os.machine()` where Node has it). */
function machineWord(): string {
  const machine = (os as { machine?: () => string }).machine;
  return typeof machine === "function" ? machine() : os.arch();
}

function quietSync<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
