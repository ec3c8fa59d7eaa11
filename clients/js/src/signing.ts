/**
 * Signed status documents: Ed25519 over canonical JSON, one key pair per product.
 *
 * A signed document is `{"document": {...}, "kid", "sig", "endorsements": [...]}`.
 * `sig` covers the canonical JSON of `document` and nothing else. The
 * application pins the product's public key; after a key rotation each new key
 * is endorsed (signed) by the one before it, and documents carry the chain.
 * Verification throws `InvalidDocument` and never returns a boolean a caller
 * could forget to test. Same rules as `licentia.core.signing`.
 */

import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";

import { ConfigurationError, InvalidDocument } from "./errors";
import { canonicalJson, isObject, JsonError, parseJson, type JsonObject, type JsonValue } from "./json";
import { parseIso } from "./time";

export const PUBLIC_KEY_SCHEME = "ed25519";
/** How far a document's issue time may lie in the verifier's future (forged, or the clock wound back). */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
const MAX_ENDORSEMENTS = 32;

export type PinnedKeys = ReadonlyMap<string, KeyObject>;

/** Strict base64url without padding; anything else is not one of ours. */
export function base64UrlDecode(text: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new InvalidDocument("malformed base64");
  return Buffer.from(text, "base64url");
}

export function keyId(raw: Uint8Array): string {
  return createHash("sha256").update(raw).digest("hex").slice(0, 16);
}

/** Parse `ed25519:<kid>:<base64url raw key>`; the key id is recomputed, never trusted. */
export function loadPublicKey(text: string): { kid: string; key: KeyObject } {
  const parts = String(text).trim().split(":");
  if (parts.length !== 3 || parts[0] !== PUBLIC_KEY_SCHEME) {
    throw new ConfigurationError("not a Licentia public key (expected 'ed25519:<kid>:<key>')");
  }
  const [, kid, b64] = parts as [string, string, string];
  let raw: Buffer;
  let key: KeyObject;
  try {
    raw = base64UrlDecode(b64);
    if (raw.length !== 32) throw new Error("length");
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
  } catch {
    throw new ConfigurationError("not a Licentia public key (expected 'ed25519:<kid>:<key>')");
  }
  if (keyId(raw) !== kid) throw new ConfigurationError("the public key's id does not match the key");
  return { kid, key };
}

/** Pin one key or several (during a rotation). */
export function pinKeys(texts: string | readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const text of typeof texts === "string" ? [texts] : texts) {
    const { kid, key } = loadPublicKey(text);
    keys.set(kid, key);
  }
  if (keys.size === 0) throw new ConfigurationError("pin at least one public key");
  return keys;
}

function verifies(key: KeyObject, signature: Buffer, message: Buffer): boolean {
  try {
    return signature.length === 64 && verify(null, message, key, signature);
  } catch {
    return false;
  }
}

function trustedKeys(pinned: PinnedKeys, endorsements: JsonValue | undefined, product: string): Map<string, KeyObject> {
  const keys = new Map(pinned);
  if (endorsements === undefined || endorsements === null || endorsements === false || endorsements === 0) return keys;
  if (!Array.isArray(endorsements)) {
    if (endorsements === "" || (isObject(endorsements) && Object.keys(endorsements).length === 0)) return keys;
    throw new InvalidDocument("malformed endorsements");
  }
  if (endorsements.length > MAX_ENDORSEMENTS) throw new InvalidDocument("malformed endorsements");
  // Endorsements may arrive in any order; keep passing until no new key is learnt.
  let pending = [...endorsements];
  let progress = true;
  while (pending.length && progress) {
    progress = false;
    for (const item of [...pending]) {
      if (!isObject(item) || typeof item.by !== "string" || !keys.has(item.by)) continue;
      pending = pending.filter((p) => p !== item);
      if (typeof item.public_key !== "string" || typeof item.sig !== "string") continue;
      let learnt: { kid: string; key: KeyObject };
      let signature: Buffer;
      try {
        learnt = loadPublicKey(item.public_key);
        signature = base64UrlDecode(item.sig);
      } catch {
        continue;
      }
      const claim = canonicalJson({ kid: learnt.kid, public_key: item.public_key, product });
      if (!verifies(keys.get(item.by) as KeyObject, signature, claim)) continue;
      if (learnt.kid === item.kid) {
        if (!keys.has(learnt.kid)) keys.set(learnt.kid, learnt.key);
        progress = true;
      }
    }
  }
  return keys;
}

/**
 * Verify a signed document and return its payload.
 *
 * The payload must name `product`; with `atTime` (ms since the epoch), a
 * document issued more than ten minutes in its future is refused.
 */
export function verifyDocument(
  unverified: string | Uint8Array | JsonValue,
  pinned: PinnedKeys,
  product: string,
  atTime?: number,
): JsonObject {
  let unverifiedSigned: JsonValue;
  try {
    unverifiedSigned = typeof unverified === "string" || unverified instanceof Uint8Array ? parseJson(unverified) : unverified;
  } catch (err) {
    if (err instanceof JsonError) throw new InvalidDocument("malformed document");
    throw err;
  }
  if (!isObject(unverifiedSigned)) throw new InvalidDocument("malformed document");
  const unverifiedPayload = unverifiedSigned.document;
  const kid = unverifiedSigned.kid;
  const sig = unverifiedSigned.sig;
  if (!isObject(unverifiedPayload) || typeof kid !== "string" || typeof sig !== "string") {
    throw new InvalidDocument("malformed document");
  }
  const signature = base64UrlDecode(sig);
  const keys = trustedKeys(pinned, unverifiedSigned.endorsements, product);
  const key = keys.get(kid);
  if (key === undefined) throw new InvalidDocument("document signed by an unknown key");
  let body: Buffer;
  try {
    body = canonicalJson(unverifiedPayload);
  } catch {
    throw new InvalidDocument("bad signature");
  }
  if (!verifies(key, signature, body)) throw new InvalidDocument("bad signature");
  const payload = unverifiedPayload;
  if (payload.product !== product) throw new InvalidDocument("document is for another product");
  if (atTime !== undefined) {
    let issued: number;
    try {
      issued = parseIso(pyStr(payload.issued_at));
    } catch {
      throw new InvalidDocument("document has no valid issue time");
    }
    if (issued - atTime > MAX_CLOCK_SKEW_MS) throw new InvalidDocument("document issued in the future");
  }
  return payload;
}

/** `str()` as the Python core applies it to a payload field before parsing it. */
export function pyStr(value: JsonValue | undefined): string {
  if (value === undefined) throw new InvalidDocument("missing field");
  if (typeof value === "string") return value;
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number" || typeof value === "bigint") return value.toString();
  return "";
}
