/**
 * Lease documents on this machine: verified before trusted, kept in `<dataDir>/lease.json`. Same
 * rules as the Python SDK's `licentia.client.lease_documents`.
 *
 * A lease document is signed by the product's key in the status document's envelope. It is trusted
 * only once it verifies with the pinned key, names this product, is of type `floating_lease` and
 * names this machine's hardware: a document edited, or copied to another computer, grants nothing.
 * The file keeps the document as signed; it holds no secret.
 */

import { closeSync, constants, openSync, readSync, unlinkSync } from "node:fs";
import { join } from "node:path";

import { refusal, type Asked, type Refusal } from "./answers";
import { InvalidDocument } from "./errors";
import { writeFileAtomic } from "./files";
import { canonicalText, isObject, parseJson, type JsonObject, type JsonValue } from "./json";
import { fingerprintMatches } from "./rules";
import { pyStr, verifyDocument, type PinnedKeys } from "./signing";
import { entitlementsInForce, type Entitlement } from "./status";
import { parseIso, serverTime } from "./time";

export const LEASE_FILE = "lease.json";
export const DOCUMENT_TYPE = "floating_lease";
const MAX_LEASE_BYTES = 1 << 16;

/** A verified lease document, with its end and issue time read (ms). */
export type LeasePayload = JsonObject & { readonly lease: string; readonly expiresMs: number; readonly issuedMs: number };

/** Verify a signed lease document and that it names this machine's hardware; else `InvalidDocument`. */
export function verifyLease(
  unverifiedSigned: JsonObject, keys: PinnedKeys, product: string, fingerprint: { components: Readonly<Record<string, string>> }, atTime?: number,
): LeasePayload {
  const payload = verifyDocument(unverifiedSigned, keys, product, atTime);
  const components = payload.components;
  if (payload.type !== DOCUMENT_TYPE || typeof payload.lease !== "string") throw new InvalidDocument("not a lease document");
  let minMatch: number;
  let expiresMs: number;
  let issuedMs: number;
  try {
    const raw = payload.min_match;
    if (raw !== undefined && raw !== null && raw !== false && typeof raw !== "number") throw new TypeError("min_match");
    minMatch = typeof raw === "number" && raw ? raw : 2;
    expiresMs = parseIso(pyStr(payload.expires_at));
    issuedMs = parseIso(pyStr(payload.issued_at));
  } catch {
    throw new InvalidDocument("malformed lease document");
  }
  if (!isObject(components) || !fingerprintMatches(components, fingerprint.components, minMatch)) {
    throw new InvalidDocument("the lease is for another machine");
  }
  return Object.assign(Object.create(null) as JsonObject, payload, { expiresMs, issuedMs }) as LeasePayload;
}

/** The unverified signed document in `lease.json`, or null (missing, oversized, not JSON, a link or a FIFO). */
export function readKept(lic: { dataDir: string }): JsonObject | null {
  let fd: number;
  try {
    fd = openSync(join(lic.dataDir, LEASE_FILE), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(MAX_LEASE_BYTES + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) read = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_LEASE_BYTES) return null;
    const found = parseJson(buffer.subarray(0, length));
    return isObject(found) ? found : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Keep the last lease document (signed, verified when read): a failure to write only costs offline use. */
export function saveLease(lic: { dataDir: string }, signed: JsonObject): void {
  try {
    writeFileAtomic(join(lic.dataDir, LEASE_FILE), canonicalText(signed)); // big integers kept exact
  } catch {
    // a read-only or full data folder
  }
}

/** Drop the stored document of a returned lease (a newer lease's document stays). */
export function forgetLease(lic: { dataDir: string }, leaseId: string): void {
  const stored = readKept(lic);
  const document = stored?.document;
  if (isObject(document) && document.lease === leaseId) {
    try {
      unlinkSync(join(lic.dataDir, LEASE_FILE));
    } catch {
      // already gone
    }
  }
}

/** Why a lease document is not taken (the `leases` vectors' `refusal`). */
export type LeaseRefusal = "invalid_document" | "other_lease" | Refusal | "not_borrowed" | "ended";

/** What a verified lease document grants, judged at a time (ms). */
export interface LeaseTerms {
  readonly id: string;
  readonly borrowed: boolean;
  readonly expiresMs: number;
  /** From the judging time to the lease's end (not below 0). */
  readonly secondsLeft: number;
  /** The signed interval when above 0 and at most half the lease, else a quarter of the lease (30 without one). */
  readonly heartbeatSeconds: number;
  readonly entitlements: Readonly<Record<string, Entitlement>>;
  readonly features: readonly string[];
}

export type LeaseVerdict =
  | { readonly accepted: true; readonly payload: LeasePayload; readonly signed: JsonObject; readonly terms: LeaseTerms }
  | { readonly accepted: false; readonly refusal: LeaseRefusal };

/** The terms of a verified lease document at `at` (ms). */
export function leaseTerms(payload: LeasePayload, at: number): LeaseTerms {
  const every = payload.heartbeat_seconds;
  const seconds = payload.lease_seconds;
  const limit = typeof seconds === "number" && Number.isSafeInteger(seconds) && seconds > 0 ? seconds / 2 : 60;
  return Object.freeze({
    id: payload.lease,
    borrowed: payload.borrowed === true,
    expiresMs: payload.expiresMs,
    secondsLeft: Math.max(0, payload.expiresMs - at) / 1000,
    heartbeatSeconds: typeof every === "number" && Number.isSafeInteger(every) && every > 0 && every <= limit ? every : limit / 2,
    entitlements: entitlementsInForce(payload.entitlements, at),
    features: Object.freeze(Array.isArray(payload.features) ? payload.features.filter((f): f is string => typeof f === "string") : []),
  });
}

/** A checkout, heartbeat or borrow answer: taken only when it verifies for this machine, names its lease and answers this request. */
export function judgeLeaseAnswer(answer: JsonValue, asked: Asked, keys: PinnedKeys, product: string, fingerprint: { components: Readonly<Record<string, string>> }): LeaseVerdict {
  if (!isObject(answer) || !isObject(answer.signed)) return { accepted: false, refusal: "invalid_document" };
  const signed = answer.signed;
  let payload: LeasePayload;
  try {
    payload = verifyLease(signed, keys, product, fingerprint);
  } catch {
    return { accepted: false, refusal: "invalid_document" };
  }
  if (payload.lease !== answer.lease) return { accepted: false, refusal: "other_lease" };
  const why = refusal(payload, { nonce: asked.nonce, device: asked.device, machine: asked.machine(keys, product), credentialDevice: null });
  if (why !== null) return { accepted: false, refusal: why };
  return { accepted: true, payload, signed, terms: leaseTerms(payload, payload.issuedMs) }; // judged at the server's time
}

/** A lease kept in `lease.json`, used offline at local `now` + `offsetSeconds`: only a borrowed one, until its end. */
export function judgeStoredLease(signed: JsonValue, keys: PinnedKeys, product: string, fingerprint: { components: Readonly<Record<string, string>> }, now: number, offsetSeconds: number): LeaseVerdict {
  const at = serverTime(now, offsetSeconds);
  let payload: LeasePayload;
  try {
    if (!isObject(signed)) throw new InvalidDocument("malformed document");
    payload = verifyLease(signed, keys, product, fingerprint, at);
  } catch {
    return { accepted: false, refusal: "invalid_document" };
  }
  if (payload.borrowed !== true) return { accepted: false, refusal: "not_borrowed" };
  if (payload.expiresMs <= at) return { accepted: false, refusal: "ended" };
  return { accepted: true, payload, signed: signed as JsonObject, terms: leaseTerms(payload, at) };
}
