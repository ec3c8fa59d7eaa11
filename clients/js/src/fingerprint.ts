/**
 * This installation's fingerprint: hashed hardware components plus the hashed
 * data path. Raw identifiers are hashed with the product before they are sent,
 * so they never leave the machine and two vendors cannot correlate users.
 */

import { resolve } from "node:path";

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
  return new Fingerprint(components, dataPathHash(product, resolve(dataDir)), raw.virtualSignals.length > 0, raw.virtualSignals);
}

/** Read the hardware now and hash it for `product`. */
export function takeFingerprint(product: string, dataDir: string, source: HardwareSource = {}): Fingerprint {
  return fingerprintOf(product, dataDir, readHardware(resolve(dataDir), source));
}
