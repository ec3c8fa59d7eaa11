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

import { InvalidDocument } from "./errors";
import { writeFileAtomic } from "./files";
import type { Fingerprint } from "./fingerprint";
import { canonicalText, isObject, parseJson, type JsonObject } from "./json";
import { fingerprintMatches } from "./rules";
import { pyStr, verifyDocument, type PinnedKeys } from "./signing";
import { parseIso } from "./time";

export const LEASE_FILE = "lease.json";
export const DOCUMENT_TYPE = "floating_lease";
const MAX_LEASE_BYTES = 1 << 16;

/** A verified lease document, with its end and issue time read (ms). */
export type LeasePayload = JsonObject & { readonly lease: string; readonly expiresMs: number; readonly issuedMs: number };

/** Verify a signed lease document and that it names this machine's hardware; else `InvalidDocument`. */
export function verifyLease(unverifiedSigned: JsonObject, keys: PinnedKeys, product: string, fingerprint: Fingerprint, atTime?: number): LeasePayload {
  const payload = verifyDocument(unverifiedSigned, keys, product, atTime);
  const components = payload.components;
  if (payload.type !== DOCUMENT_TYPE || typeof payload.lease !== "string") throw new InvalidDocument("not a lease document");
  let minMatch: number;
  let expiresMs: number;
  let issuedMs: number;
  try {
    const raw = payload.min_match;
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
