/**
 * Air-gapped activation files (the formats of `licentia.core.airgap` and docs/web-api.md): armor,
 * Ed25519-signed claims, and the credential sealed to an X25519 key (X25519, HKDF-SHA256,
 * ChaCha20-Poly1305), all from `node:crypto`. Everything that parses throws `InvalidOfflineFile`,
 * whatever the input.
 */

import {
  createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, sign,
  type KeyObject,
} from "node:crypto";

import { canonicalJson, isObject, parseJson, type JsonObject } from "./json";

export const FORMAT = 1;
export const REQUEST = "ACTIVATION REQUEST";
export const RESPONSE = "ACTIVATION RESPONSE";
export const PROOF = "DEACTIVATION PROOF";
/** A genuine file is a few kilobytes; a larger one is refused before it is decoded. */
export const MAX_FILE_CHARS = 64 * 1024;
const LINE = 64;
const ARMOR = /-----BEGIN LICENTIA ([A-Z ]+)-----\s*([\s\S]*?)\s*-----END LICENTIA \1-----/;
const SEAL_INFO = Buffer.from("licentia offline credential v1", "ascii");
// DER prefixes of raw 32-byte keys (PKCS#8 private, SPKI public).
const PKCS8 = { ed25519: "302e020100300506032b657004220420", x25519: "302e020100300506032b656e04220420" };
const SPKI_X25519 = "302a300506032b656e032100";

export class InvalidOfflineFile extends Error {}

export const b64e = (raw: Uint8Array): string => Buffer.from(raw).toString("base64url");

/** Strict base64url (unpadded), what the server writes; anything else is no file of ours. */
export function b64d(text: unknown): Buffer {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new InvalidOfflineFile("base64url text expected");
  return Buffer.from(text, "base64url");
}

/** A fresh 256-bit random nonce: what makes a request single use. */
export const newNonce = (): string => b64e(randomBytes(32));

export function armor(kind: string, body: JsonObject): string {
  const encoded = b64e(canonicalJson(body));
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += LINE) lines.push(encoded.slice(i, i + LINE));
  return [`-----BEGIN LICENTIA ${kind}-----`, ...lines, `-----END LICENTIA ${kind}-----`, ""].join("\n");
}

/** The JSON object a file of `kind` carries (signatures not yet checked). */
export function unarmor(kind: string, input: string | Uint8Array): JsonObject {
  let text: string;
  if (typeof input === "string") text = input;
  else if (input instanceof Uint8Array && input.length <= MAX_FILE_CHARS && input.every((b) => b < 0x80)) text = Buffer.from(input).toString("ascii");
  else throw new InvalidOfflineFile("not a Licentia offline file (not text, or too large)");
  if (text.length > MAX_FILE_CHARS) throw new InvalidOfflineFile("not a Licentia offline file (too large)");
  const found = ARMOR.exec(text);
  if (found === null) throw new InvalidOfflineFile("not a Licentia offline file (no BEGIN/END lines)");
  if (found[1] !== kind) throw new InvalidOfflineFile(`this is a ${String(found[1]).toLowerCase()}, not a ${kind.toLowerCase()}`);
  let body;
  try {
    body = parseJson(b64d(String(found[2]).replace(/\s+/g, "")));
  } catch {
    throw new InvalidOfflineFile("the file is damaged (not JSON inside)");
  }
  if (!isObject(body)) throw new InvalidOfflineFile("the file is damaged (not an object inside)");
  return body;
}

/** A new key pair's raw halves (base64url), `kind` `ed25519` (signs) or `x25519` (opens the sealed credential). */
export function newKeyPair(kind: "ed25519" | "x25519"): { privateText: string; publicText: string } {
  const pair = kind === "ed25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("x25519");
  const jwk = pair.privateKey.export({ format: "jwk" });
  return { privateText: String(jwk.d), publicText: String(jwk.x) };
}

function privateKey(kind: "ed25519" | "x25519", text: unknown): KeyObject {
  const raw = b64d(text);
  if (raw.length !== 32) throw new InvalidOfflineFile("damaged machine key");
  try {
    return createPrivateKey({ key: Buffer.concat([Buffer.from(PKCS8[kind], "hex"), raw]), format: "der", type: "pkcs8" });
  } catch {
    throw new InvalidOfflineFile("damaged machine key");
  }
}

/** The public half (raw, base64url) of a private key kept as raw base64url text. */
export function publicText(kind: "ed25519" | "x25519", privateText: string): string {
  return String(createPublicKey(privateKey(kind, privateText)).export({ format: "jwk" }).x);
}

/** A request or proof: `claim` and the machine key's signature over its canonical JSON. */
export function signedClaim(kind: string, claim: JsonObject, signingKeyText: string): string {
  return armor(kind, { claim, sig: b64e(sign(null, canonicalJson(claim), privateKey("ed25519", signingKeyText))) });
}

/** Open what the server sealed to this machine's X25519 key; `context` (the request nonce) is authenticated too. */
export function unseal(sealed: unknown, boxKeyText: unknown, context: Buffer): Buffer {
  if (!isObject(sealed)) throw new InvalidOfflineFile("the response carries no sealed credential");
  const box = privateKey("x25519", boxKeyText);
  try {
    const epk = b64d(sealed.epk);
    const ephemeral = createPublicKey({ key: Buffer.concat([Buffer.from(SPKI_X25519, "hex"), epk]), format: "der", type: "spki" });
    const mine = Buffer.from(String(createPublicKey(box).export({ format: "jwk" }).x), "base64url");
    const shared = diffieHellman({ privateKey: box, publicKey: ephemeral });
    const key = Buffer.from(hkdfSync("sha256", shared, Buffer.concat([epk, mine]), SEAL_INFO, 32));
    const sealedBytes = b64d(sealed.ct);
    if (sealedBytes.length < 16) throw new InvalidOfflineFile("too short");
    const decipher = createDecipheriv("chacha20-poly1305", key, b64d(sealed.nonce), { authTagLength: 16 });
    decipher.setAAD(context, { plaintextLength: sealedBytes.length - 16 });
    decipher.setAuthTag(sealedBytes.subarray(sealedBytes.length - 16));
    return Buffer.concat([decipher.update(sealedBytes.subarray(0, sealedBytes.length - 16)), decipher.final()]);
  } catch {
    throw new InvalidOfflineFile("the credential is sealed for another machine, or was changed");
  }
}
