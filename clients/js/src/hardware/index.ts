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

export function readHardware(dataDir: string, source: HardwareSource = {}): RawHardware {
  const platform = source.root !== undefined ? "linux" : (source.platform ?? process.platform);
  const run = source.run ?? runCommand;
  const env = source.env ?? process.env;
  const interfaces = (): InterfaceList => (source.interfaces ?? networkInterfaces)();
  if (platform === "linux" || platform === "android") {
    const root = source.root ?? "/";
    return {
      machine: linux.machineId(root),
      disk: linux.diskSerial(root, dataDir),
      cpu: linux.cpuIdentity(root),
      mac: linux.permanentMac(root),
      virtualSignals: linux.virtualSignals(root),
    };
  }
  if (platform === "win32") {
    return {
      machine: windows.machineGuid(run, env),
      disk: windows.volumeSerial(run, env, dataDir),
      cpu: windows.cpuIdentity(run, env),
      mac: firstMac(interfaces()),
      virtualSignals: [],
    };
  }
  if (platform === "darwin") {
    return {
      machine: macos.platformUuid(run),
      disk: null,
      cpu: macos.cpuIdentity(run, source.arch ?? osArch()),
      mac: firstMac(interfaces()),
      virtualSignals: [],
    };
  }
  return { machine: null, disk: null, cpu: source.arch ?? osArch(), mac: firstMac(interfaces()), virtualSignals: [] };
}
