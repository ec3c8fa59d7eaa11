/**
 * What `check()` answers, and how a signed document becomes that answer.
 *
 * The same steps run online (on the server's fresh answer) and offline (on the
 * stored copy): verify the signature with the pinned keys, check the document
 * describes *this* installation, then apply the status rules. The SDK never
 * grants more than a document it verified says.
 */

import { InvalidDocument } from "./errors";
import { isObject, type JsonObject, type JsonValue } from "./json";
import { maintenanceOf, releaseOf, type Maintenance, type Release } from "./releases";
import { fingerprintMatches, judge, type Verdict } from "./rules";
import { verifyDocument, type PinnedKeys } from "./signing";
import { parseIso, serverTime } from "./time";

/** How far the local clock may run behind the latest time the SDK saw before it counts as wound back. */
export const DEFAULT_ROLLBACK_TOLERANCE_MS = 2 * 3600 * 1000;

/** Hashed components and data path: what identifies this installation (see `fingerprint.ts`). */
export interface PresentedFingerprint {
  components: Readonly<Record<string, string>>;
  dataPath: string;
}

/**
 * This installation's licensing status. `state` is the device status (`trial`,
 * `trial_expired`, `registered`, `suspended`, `blocked`) or one the SDK derives
 * offline: `grace`, `lease_expired`, `expired` (license expiry),
 * `clock_rollback` and `unknown` (no valid document and no server).
 *
 * `entitlements` holds the license type's typed values in force (`export_pdf: true`,
 * `max_projects: 10`, `edition: "pro"`): read one with `entitlement(name, fallback)`.
 * `customer` names the licensee of an activated installation (`{ id: 42, name: "Acme GmbH" }`,
 * signed), `user` the person signed in on this installation (their email) on a license whose seats
 * are named users (`signIn()`), `maintenance` until when the license gets updates, `latestRelease` the newest release
 * it may install (an `https:` download URL only).
 */
export class Status {
  /** Whether the server could not keep what it verified: the answer stands for this run only. */
  readonly unsaved: boolean;

  constructor(
    readonly allowed: boolean,
    readonly state: string,
    readonly daysLeft: number | null,
    readonly features: readonly string[],
    readonly reason: string | null,
    readonly online: boolean,
    readonly device: string | null = null,
    readonly latestRelease: Release | null = null,
    readonly cloneSuspected = false,
    readonly entitlements: Readonly<Record<string, Entitlement>> = Object.freeze({}),
    readonly maintenance: Maintenance | null = null,
    readonly customer: Customer | null = null,
    unsaved = false,
    readonly user: string | null = null,
  ) {
    this.unsaved = unsaved;
    Object.freeze(this.features);
  }

  hasFeature(name: string): boolean {
    return this.features.includes(name);
  }

  /**
   * The value of entitlement `name` while it is in force, else `fallback`. Nothing is in force
   * while the status is not allowed; an entitlement past its expiry (by the server's time online,
   * the checked local time offline) is absent.
   */
  entitlement<T extends Entitlement | null | undefined = undefined>(name: string, fallback?: T): Entitlement | T {
    return Object.prototype.hasOwnProperty.call(this.entitlements, name) ? (this.entitlements[name] as Entitlement) : (fallback as T);
  }

  /** The same status, marked as verified but not kept in the data folder (`unsaved`). */
  asUnsaved(): Status {
    const { allowed, state, daysLeft, features, reason, online, device, latestRelease, cloneSuspected, entitlements, maintenance, customer, user } = this;
    return new Status(allowed, state, daysLeft, [...features], reason, online, device, latestRelease, cloneSuspected, entitlements, maintenance, customer, true, user);
  }
}

/** An entitlement's value: a switch, a whole number or a text. */
export type Entitlement = boolean | number | bigint | string;

/** The licensee a signed document names: the vendor's customer id and display name. */
export interface Customer {
  readonly id: number | bigint;
  readonly name: string;
}

export function denied(reason: string, online = false, state = "unknown"): Status {
  return new Status(false, state, 0, [], reason, online);
}

/**
 * Verify signature and product, then that the document names this installation:
 * a genuine document of another device (copied in, or replayed between the app
 * and the server) must not unlock this one.
 */
export function verifyForInstallation(
  unverifiedSigned: string | Uint8Array | JsonValue,
  keys: PinnedKeys,
  product: string,
  fingerprint: PresentedFingerprint | null,
  atTime?: number,
): JsonObject {
  const payload = verifyDocument(unverifiedSigned, keys, product, atTime);
  if (fingerprint !== null) {
    const components = payload.components;
    if (!isObject(components) || payload.data_path !== fingerprint.dataPath) {
      throw new InvalidDocument("document is for another installation");
    }
    const raw = payload.min_match;
    let minMatch = 2;
    if (typeof raw === "number" || typeof raw === "bigint") minMatch = Number(raw) || 2;
    else if (raw !== undefined && raw !== null && raw !== false) throw new InvalidDocument("malformed document");
    if (!fingerprintMatches(components, fingerprint.components, minMatch)) {
      throw new InvalidDocument("document is for another device");
    }
  }
  return payload;
}

export function statusOf(payload: JsonObject, now: number, online: boolean): Status {
  let verdict;
  try {
    verdict = judge(payload, now);
  } catch {
    return denied("invalid_document", online);
  }
  const reason = payload.reason;
  return new Status(
    verdict.allowed,
    verdict.state,
    verdict.daysLeft,
    verdict.features,
    // An allowed verdict has no reason of its own; keep the server's (e.g. "deactivated").
    verdict.reason ?? (typeof reason === "string" && reason ? reason : null),
    online,
    typeof payload.device === "string" && payload.device ? payload.device : null,
    releaseOf(payload.latest_release),
    payload.clone_suspected === true,
    entitlementsOf(payload, verdict, now),
    maintenanceOf(payload.maintenance),
    customerOf(payload),
    false,
    userOf(payload),
  );
}

/** The person the signed document names, on a license whose seats are users (`signIn()`), else null. */
export function userOf(payload: JsonObject): string | null {
  const found = payload.user;
  return typeof found === "string" && found.length > 0 && found.length <= 320 && !/(?! )[\p{C}\p{Z}]/u.test(found) ? found : null;
}

/** The licensee the signed document names (`license.customer`), if any. */
export function customerOf(payload: JsonObject): Customer | null {
  const lic = payload.license;
  const found = isObject(lic) ? lic.customer : null;
  const id = found && isObject(found) ? found.id : null;
  if (!isObject(found) || !(typeof id === "bigint" || (typeof id === "number" && Number.isSafeInteger(id)))) return null;
  const name = found.name;
  return Object.freeze({ id: id as number | bigint, name: typeof name === "string" ? name : "" });
}

/** The typed entitlements in force at `now`; from `features` for documents of older servers. */
function entitlementsOf(payload: JsonObject, verdict: Verdict, now: number): Readonly<Record<string, Entitlement>> {
  if (!verdict.allowed) return Object.freeze({});
  if (!isObject(payload.entitlements)) return Object.freeze(Object.fromEntries(verdict.features.map((f) => [f, true])));
  return entitlementsInForce(payload.entitlements, now);
}

/** The well-formed entitlements of a verified document whose expiry is after `now` (ms): status and lease documents. */
export function entitlementsInForce(unverified: JsonValue | undefined, now: number): Readonly<Record<string, Entitlement>> {
  const found: [string, Entitlement][] = [];
  if (!isObject(unverified)) return Object.freeze({});
  for (const [name, entry] of Object.entries(unverified)) {
    if (!isObject(entry)) continue;
    const value = entry.value;
    const expires = entry.expires_at;
    let typed: Entitlement;
    if (typeof value === "boolean" || typeof value === "string") typed = value;
    else if ((typeof value === "number" && Number.isSafeInteger(value)) || typeof value === "bigint") typed = value;
    else continue; // null, a float, a list, an object: not an entitlement
    if (expires !== undefined && expires !== null) {
      let end: number;
      try {
        end = parseIso(typeof expires === "string" ? expires : "");
      } catch {
        continue; // an unreadable expiry grants nothing
      }
      if (end <= now) continue;
    }
    found.push([name, typed]);
  }
  // fromEntries defines own properties: "__proto__" stays a plain name.
  return Object.freeze(Object.fromEntries(found));
}

export interface OfflineInputs {
  signed: string | JsonValue | null;
  keys: PinnedKeys;
  product: string;
  fingerprint: PresentedFingerprint;
  /** The local clock (ms). */
  now: number;
  /** The latest local time the SDK saw (ms), or null. */
  lastSeen: number | null;
  /** Seconds from the local clock to the server's, measured on the last bound answer (0 when none). */
  offsetSeconds?: number;
  rollbackToleranceMs: number;
}

/**
 * The offline decision: clock rollback, verification for this installation, then the status rules.
 *
 * Rollback is judged on the local clock alone (`lastSeen` is local time too); everything else at
 * the server's time by the kept offset, so a clock that is constantly hours or days off works
 * offline as it does online.
 */
export function decideOffline(inputs: OfflineInputs): Status {
  if (inputs.signed === null) return denied("no_document");
  if (inputs.lastSeen !== null && inputs.now + inputs.rollbackToleranceMs < inputs.lastSeen) {
    // The clock was wound back, to stretch a trial or a lease.
    return denied("clock_rollback", false, "clock_rollback");
  }
  const at = serverTime(inputs.now, inputs.offsetSeconds ?? 0);
  let payload: JsonObject;
  try {
    payload = verifyForInstallation(inputs.signed, inputs.keys, inputs.product, inputs.fingerprint, at);
  } catch (err) {
    if (err instanceof InvalidDocument) return denied("invalid_document");
    throw err;
  }
  return statusOf(payload, at, false);
}
