/**
 * Air-gapped activation on the machine: write a request, install the response, write a deactivation
 * proof. Same steps and the same `offline.json` as the Python SDK's `licentia.client.offline_activation`.
 *
 * 1. `activationRequest(key)` makes two key pairs for this installation, an X25519 one (the vendor
 *    seals the installation's credential to it) and an Ed25519 one (it signs the request now and
 *    the deactivation proof later), keeps the private halves in `<dataDir>/offline.json` (0600) and
 *    returns the request's text;
 * 2. the vendor turns the request into a response (admin UI, developer API,
 *    `licentia license offline-activate`, or the customer portal);
 * 3. `installActivation(response)` accepts it only if it answers a request this installation made,
 *    its status document verifies with the pinned key and names this machine's hardware and data
 *    path, and its credential opens with the private key kept in step 1. It then becomes the
 *    installation's state: `check({ online: false })` answers from it until its lease ends.
 */

import { readFileSync } from "node:fs";
import { release as osRelease, type as osType } from "node:os";
import { join } from "node:path";

import * as airgap from "./airgap";
import type { Licentia } from "./client";
import { ConfigurationError, InvalidAnswer, InvalidDocument, InvalidKey } from "./errors";
import { writeFileAtomic } from "./files";
import { isObject, parseJson, type JsonObject, type JsonValue } from "./json";
import { normalizeKey } from "./rules";
import { emptyState } from "./state";
import type { PinnedKeys } from "./signing";
import { statusOf, verifyForInstallation, type PresentedFingerprint, type Status } from "./status";
import { serverTime, toIso } from "./time";
import { credentialOf, isToken } from "./tokens";

export const OFFLINE_FILE = "offline.json";
const FORMAT = 1;
/** Requests written and not yet answered; the oldest is forgotten beyond this. */
const MAX_PENDING = 8;
const MAX_BYTES = 64 * 1024;

interface Keys {
  format: number;
  pending: JsonObject[];
  activation: JsonObject | null;
  proof: string | null;
}

/** The offline keys file; damaged or missing, an empty one (it only ever restricts what installs). */
function load(lic: Licentia): Keys {
  const empty: Keys = { format: FORMAT, pending: [], activation: null, proof: null };
  let found: JsonValue;
  try {
    const raw = readFileSync(join(lic.dataDir, OFFLINE_FILE));
    if (raw.length > MAX_BYTES) return empty;
    found = parseJson(raw);
  } catch {
    return empty;
  }
  if (!isObject(found) || found.format !== FORMAT) return empty;
  const { pending, activation, proof } = found;
  return {
    format: FORMAT,
    pending: Array.isArray(pending) ? pending.filter(isObject) : [],
    activation: isObject(activation) ? activation : null,
    proof: typeof proof === "string" ? proof : null,
  };
}

function save(lic: Licentia, keys: Keys): void {
  try {
    writeFileAtomic(join(lic.dataDir, OFFLINE_FILE), JSON.stringify(keys)); // created 0600: private keys
  } catch (err) {
    throw new ConfigurationError(`cannot write the offline activation keys in ${lic.dataDir}: ${(err as Error).message}`);
  }
}

/** What an activation request says (the `airgapped` vectors' `inputs`); `box` and `proof` are the new private keys. */
export interface RequestInputs {
  product: string;
  key: string;
  fingerprint: JsonObject;
  nonce: string;
  created_at: string;
  box: string;
  proof: string;
  app_version: string | null;
  os: string;
}

/** The request file's text, byte for byte what every SDK writes from the same inputs. */
export function requestText(inputs: RequestInputs): string {
  const claim: JsonObject = {
    v: airgap.FORMAT,
    kind: "activation_request",
    product: inputs.product,
    key: inputs.key,
    fingerprint: inputs.fingerprint,
    nonce: inputs.nonce,
    created_at: inputs.created_at,
    box_key: airgap.publicText("x25519", inputs.box),
    proof_key: airgap.publicText("ed25519", inputs.proof),
    app_version: inputs.app_version,
    os: inputs.os,
  };
  return airgap.signedClaim(airgap.REQUEST, claim, inputs.proof);
}

/** Why a response is not installed (the `airgapped` vectors' `refusal`), in the order they are checked. */
export type ResponseRefusal =
  | "not_a_response" | "unknown_version" | "other_product" | "unknown_request" | "invalid_document" | "other_request" | "sealed_elsewhere" | "other_installation";

export type ResponseVerdict =
  | {
      readonly accepted: true;
      readonly signed: JsonObject;
      readonly payload: JsonObject;
      readonly credential: [string, string];
      readonly activation: string;
      readonly pending: JsonObject;
      readonly status: Status;
    }
  | { readonly accepted: false; readonly refusal: ResponseRefusal };

/**
 * Open a response to one of the `pending` requests (`nonce`, `box`) for this installation, judged at
 * local `now` + `offsetSeconds` as an offline document is. Pure: nothing is read or kept.
 */
export function openResponse(
  text: string | Uint8Array, product: string, keys: PinnedKeys, fingerprint: PresentedFingerprint, pending: readonly JsonObject[], now: number, offsetSeconds: number,
): ResponseVerdict {
  const no = (refusal: ResponseRefusal): ResponseVerdict => ({ accepted: false, refusal });
  let unverified: JsonObject;
  try {
    unverified = airgap.unarmor(airgap.RESPONSE, text);
  } catch {
    return no("not_a_response");
  }
  if (unverified.v !== airgap.FORMAT) return no("unknown_version");
  if (unverified.product !== product) return no("other_product");
  const nonce = unverified.request;
  const request = typeof nonce === "string" ? pending.find((p) => p.nonce === nonce) : undefined;
  if (request === undefined || typeof nonce !== "string") return no("unknown_request");
  const signed = unverified.signed;
  const at = serverTime(now, offsetSeconds);
  let payload: JsonObject;
  try {
    if (!isObject(signed)) throw new InvalidDocument("no signed document");
    // This machine's hardware and data path: a response carried to another machine names other ones.
    payload = verifyForInstallation(signed, keys, product, fingerprint, at);
  } catch {
    return no("invalid_document");
  }
  const offline = payload.offline;
  if (!isObject(offline) || offline.request !== nonce || !isToken(offline.activation)) return no("other_request");
  let opened: JsonValue;
  try {
    opened = parseJson(airgap.unseal(unverified.sealed, request.box, Buffer.from(nonce, "ascii")));
  } catch {
    return no("sealed_elsewhere");
  }
  const credential = isObject(opened) ? credentialOf(opened.device, opened.secret) : null;
  if (credential === null || credential[0] !== payload.device) return no("other_installation");
  return { accepted: true, signed, payload, credential, activation: offline.activation, pending: request, status: statusOf(payload, at, false) };
}

/** The text of a new activation request for license `key` (a typo throws `InvalidKey`). */
export async function writeRequest(lic: Licentia, key: string): Promise<string> {
  let normalized: string;
  try {
    normalized = normalizeKey(key);
  } catch (err) {
    throw err instanceof InvalidKey ? err : new InvalidKey(String(err));
  }
  const box = airgap.newKeyPair("x25519").privateText;
  const proof = airgap.newKeyPair("ed25519").privateText;
  const nonce = airgap.newNonce();
  const now = toIso(lic.clock.now());
  const fingerprint = (await lic.fingerprint()).toRequest() as unknown as JsonObject;
  const text = requestText({
    product: lic.product, key: normalized, fingerprint, nonce, created_at: now, box, proof,
    app_version: lic.appVersion, os: `${osType()} ${osRelease()}`.trim(),
  });
  const keys = load(lic);
  keys.pending = [...keys.pending, { nonce, box, proof, created_at: now }].slice(-MAX_PENDING);
  save(lic, keys);
  return text;
}

/** Install a response to one of this installation's requests; anything else throws `InvalidAnswer` naming the rule. */
export async function installResponse(lic: Licentia, text: string | Uint8Array): Promise<Status> {
  const now = lic.clock.now();
  const keys = load(lic);
  const previous = lic.stateFile.load();
  // Judged at the local clock, set right by the last online answer if any.
  const verdict = openResponse(text, lic.product, lic.keys, await lic.fingerprint(), keys.pending, now, previous.clockOffset);
  if (!verdict.accepted) throw new InvalidAnswer(`this activation response is not for this installation's request (${verdict.refusal})`);
  const { signed, payload, credential } = verdict;
  const state = {
    ...emptyState(),
    signed,
    credential,
    token: isToken(payload.token) ? payload.token : null,
    lastSeen: toIso(now),
    factsOptOut: previous.factsOptOut,
    clockOffset: previous.clockOffset,
  };
  keys.pending = keys.pending.filter((p) => p !== verdict.pending);
  keys.activation = { id: verdict.activation, device: credential[0], proof: verdict.pending.proof ?? null };
  keys.proof = null;
  save(lic, keys);
  lic.save(state);
  return verdict.status;
}

/**
 * End this installation's offline activation and return the proof that frees its seat. The local
 * activation is removed before the proof is returned, and the proof is kept, so that calling again
 * (the first file was lost) gives the same proof and never a second activation's worth of use.
 */
export async function writeProof(lic: Licentia): Promise<string> {
  const keys = load(lic);
  const activation = keys.activation;
  if (activation === null) {
    if (keys.proof) return keys.proof;
    throw new ConfigurationError("this installation holds no offline activation to deactivate");
  }
  const claim: JsonObject = {
    v: airgap.FORMAT,
    kind: "deactivation_proof",
    product: lic.product,
    activation: activation.id ?? null,
    device: activation.device ?? null,
    nonce: airgap.newNonce(),
    created_at: toIso(lic.clock.now()),
  };
  let proof: string;
  try {
    proof = airgap.signedClaim(airgap.PROOF, claim, String(activation.proof));
  } catch {
    throw new ConfigurationError("the offline activation keys are damaged: deactivate online instead");
  }
  keys.activation = null;
  keys.proof = proof;
  save(lic, keys);
  const state = lic.stateFile.load();
  if (state.signed !== null && state.credential !== null) {
    state.signed = null; // the license document goes: offline, this installation holds nothing now
    lic.save(state);
  }
  return proof;
}
