/**
 * The rules the SDK shares with the Python core (`licentia.core`): component
 * hashing and K-of-N matching, license key check characters, and the status
 * rules applied to a verified document. The conformance vectors hold this file
 * to the core's answers.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

import { InvalidKey } from "./errors";
import { isObject, type JsonObject, type JsonValue } from "./json";
import { pyStr } from "./signing";
import { parseIso } from "./time";
import { DeviceStatus, LicenseState } from "./vocabulary";

// -- fingerprints -------------------------------------------------------------------

/** Hardware components, in the order they are worth as evidence. */
export const COMPONENTS = ["machine", "disk", "cpu", "mac"] as const;
export type ComponentName = (typeof COMPONENTS)[number];
/** The CPU identity is shared by every machine of a model: never identity alone. */
const WEAK_COMPONENTS = new Set(["cpu"]);
const HARDWARE_COMPONENTS = 3;

/** `hex(HMAC-SHA256("licentia:<product>", "<name>:<raw>"))`: raw identifiers never leave the machine. */
export function componentHash(product: string, name: string, raw: string): string {
  return createHmac("sha256", `licentia:${product}`).update(`${name}:${raw}`, "utf8").digest("hex");
}

export function dataPathHash(product: string, path: string): string {
  return componentHash(product, "data_path", path);
}

export function requiredMatches(presented: Readonly<Record<string, string>>, minMatch: number): number {
  const tolerated = Math.max(0, HARDWARE_COMPONENTS - minMatch);
  return Math.max(1, Object.keys(presented).length - tolerated);
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when `presented` is the same device as `stored` under the policy's K of N. */
export function fingerprintMatches(
  stored: Readonly<Record<string, JsonValue>>,
  presented: Readonly<Record<string, string>>,
  minMatch: number,
): boolean {
  const equal = Object.entries(presented)
    .filter(([name, value]) => {
      const known = stored[name];
      return value && typeof known === "string" && known && equalText(known, value);
    })
    .map(([name]) => name);
  if (!equal.some((name) => !WEAK_COMPONENTS.has(name))) return false;
  return equal.length >= requiredMatches(presented, minMatch);
}

// -- license keys --------------------------------------------------------------------

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const BODY = 24;

function checkChar(body: string): string {
  // Luhn mod 32: catches every single substitution and every adjacent swap but A<->9.
  let factor = 2;
  let total = 0;
  for (let i = body.length - 1; i >= 0; i--) {
    const addend = factor * ALPHABET.indexOf(body[i] as string);
    factor = factor === 2 ? 1 : 2;
    total += Math.floor(addend / 32) + (addend % 32);
  }
  return ALPHABET[(32 - (total % 32)) % 32] as string;
}

/** The canonical grouped form of a typed key; a typo throws `InvalidKey` before any network call. */
export function normalizeKey(text: string): string {
  const compact = [...text.toUpperCase()].filter((ch) => !" -\t".includes(ch)).join("");
  const length = [...compact].length;
  if (length !== BODY + 1) throw new InvalidKey(`a license key has ${BODY + 1} characters, this one has ${length}`);
  const bad = [...new Set([...compact].filter((ch) => !ALPHABET.includes(ch)))].sort();
  if (bad.length) throw new InvalidKey(`a license key cannot contain ${JSON.stringify(bad.join(""))}`);
  if (checkChar(compact.slice(0, -1)) !== compact.slice(-1)) {
    throw new InvalidKey("the license key has a typo (its check character does not match)");
  }
  return (compact.match(/.{5}/g) as string[]).join("-");
}

export function keyPrefix(key: string): string {
  return key.replace(/-/g, "").slice(0, 5);
}

// -- status rules --------------------------------------------------------------------

/** What a status document means at a given moment. */
export interface Verdict {
  allowed: boolean;
  state: string;
  reason: string | null;
  daysLeft: number | null;
  features: string[];
}

const DAY_MS = 86_400_000;

/** Whole days left, counting a started day (0 once `end` has passed). */
export function daysUntil(end: number, now: number): number {
  return end - now <= 0 ? 0 : Math.ceil((end - now) / DAY_MS);
}

function truthy(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === 0n || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

function pyInt(value: JsonValue | undefined): number {
  if (!truthy(value)) return 0;
  if (typeof value === "number" || typeof value === "bigint") return Number(value);
  if (value === true) return 1;
  if (typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  throw new TypeError("not an integer");
}

/**
 * Apply the status rules to a verified payload at `now` (ms): a trial ends at
 * `trial_end`, a license at its expiry, and the document is trusted until
 * `lease_until` and then for `grace_days` more. Throws for a payload without
 * the fields the rules need.
 */
export function judge(payload: JsonObject, now: number): Verdict {
  const status = pyStr(payload.status ?? null);
  const rawFeatures = payload.features;
  const features = Array.isArray(rawFeatures) ? rawFeatures.map((f) => pyStr(f)) : [];
  const reason = payload.reason;
  const leaseUntil = parseIso(pyStr(payload.lease_until));
  const graceDays = pyInt(payload.grace_days);
  let base: Verdict;
  if (status === DeviceStatus.TRIAL) {
    const end = payload.trial_end;
    const trialEnd = truthy(end) ? parseIso(pyStr(end)) : null;
    if (trialEnd !== null && now >= trialEnd) {
      return { allowed: false, state: DeviceStatus.TRIAL_EXPIRED, reason: "trial_ended", daysLeft: 0, features: [] };
    }
    base = { allowed: true, state: status, reason: null, daysLeft: trialEnd !== null ? daysUntil(trialEnd, now) : null, features };
  } else if (status === DeviceStatus.REGISTERED) {
    const lic = truthy(payload.license) ? payload.license : null;
    if (lic !== null && !isObject(lic)) throw new TypeError("malformed license");
    const expires = lic ? lic.expires_at : undefined;
    const expiry = truthy(expires) ? parseIso(pyStr(expires)) : null;
    if (expiry !== null && now >= expiry) {
      return { allowed: false, state: LicenseState.EXPIRED, reason: "license_expired", daysLeft: 0, features: [] };
    }
    base = { allowed: true, state: status, reason: null, daysLeft: expiry !== null ? daysUntil(expiry, now) : null, features };
  } else {
    return { allowed: false, state: status, reason: truthy(reason) ? pyStr(reason) : status, daysLeft: 0, features: [] };
  }
  if (now <= leaseUntil) return base;
  const graceEnd = leaseUntil + graceDays * DAY_MS;
  if (now <= graceEnd) {
    return { allowed: true, state: "grace", reason: "lease_expired", daysLeft: daysUntil(graceEnd, now), features };
  }
  return { allowed: false, state: "lease_expired", reason: "lease_expired", daysLeft: 0, features: [] };
}
