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
import { fingerprintMatches, judge } from "./rules";
import { verifyDocument, type PinnedKeys } from "./signing";
import { serverTime } from "./time";

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
 */
export class Status {
  constructor(
    readonly allowed: boolean,
    readonly state: string,
    readonly daysLeft: number | null,
    readonly features: readonly string[],
    readonly reason: string | null,
    readonly online: boolean,
    readonly device: string | null = null,
    readonly latestRelease: JsonObject | null = null,
    readonly cloneSuspected = false,
  ) {}

  hasFeature(name: string): boolean {
    return this.features.includes(name);
  }
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
  const release = payload.latest_release;
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
    isObject(release) ? release : null,
    payload.clone_suspected === true,
  );
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
