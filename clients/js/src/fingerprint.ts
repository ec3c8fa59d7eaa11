/**
 * This installation's fingerprint: hashed hardware components plus the hashed
 * data path. Raw identifiers are hashed with the product before they are sent,
 * so they never leave the machine and two vendors cannot correlate users.
 */

import { resolve } from "node:path";

import { absolutePath } from "./paths";
import { readHardware, type HardwareSource, type RawHardware } from "./hardware";
import { COMPONENTS, componentHash, dataPathHash } from "./rules";
import type { PresentedFingerprint } from "./status";

export class Fingerprint implements PresentedFingerprint {
  constructor(
    readonly components: Readonly<Record<string, string>>,
    readonly dataPath: string,
    readonly virtual: boolean,
    readonly virtualSignals: readonly string[] = [],
  ) {}

  /** Which components went into the fingerprint, in order of worth. */
  get used(): string[] {
    return COMPONENTS.filter((name) => name in this.components);
  }

  toRequest(): { components: Record<string, string>; data_path: string; virtual: boolean } {
    return { components: { ...this.components }, data_path: this.dataPath, virtual: this.virtual };
  }
}

export function fingerprintOf(product: string, dataDir: string, raw: RawHardware): Fingerprint {
  const components: Record<string, string> = {};
  for (const name of COMPONENTS) {
    const value = raw[name];
    if (value) components[name] = componentHash(product, name, value);
  }
  return new Fingerprint(components, dataPathHash(product, absolutePath(dataDir)), raw.virtualSignals.length > 0, raw.virtualSignals);
}

/** Read the hardware now (asynchronously) and hash it for `product`. */
export async function takeFingerprint(product: string, dataDir: string, source: HardwareSource = {}): Promise<Fingerprint> {
  return fingerprintOf(product, dataDir, await readHardware(resolve(dataDir), source));
}

// The real machine's hardware, read once per process and data folder (the disk is the one holding it):
// a second check never waits on the readers. Only in memory: a fingerprint kept on disk would travel
// with a copied data folder to other hardware.
const machineReads = new Map<string, Promise<RawHardware>>();

/**
 * The hardware as `source` reads it, read once: the real machine's once per process (shared by
 * every `Licentia` of the process), a fake's (`source` given by a test) once per `reads` cache.
 */
export function hardwareOnce(dataDir: string, source: HardwareSource | undefined, reads: Map<string, Promise<RawHardware>>): Promise<RawHardware> {
  const dir = resolve(dataDir);
  const cache = source === undefined ? machineReads : reads;
  let found = cache.get(dir);
  if (found === undefined) {
    found = readHardware(dir, source ?? {});
    cache.set(dir, found);
  }
  return found;
}
