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
import { statusOf, verifyForInstallation, type Status } from "./status";
import { parseIso, serverTime, toIso } from "./time";
import { credentialOf, isToken } from "./tokens";
import { pyStr } from "./signing";

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

/** The text of a new activation request for license `key` (a typo throws `InvalidKey`). */
export async function writeRequest(lic: Licentia, key: string): Promise<string> {
  let normalized: string;
  try {
    normalized = normalizeKey(key);
  } catch (err) {
    throw err instanceof InvalidKey ? err : new InvalidKey(String(err));
  }
  const box = airgap.newKeyPair("x25519");
  const proof = airgap.newKeyPair("ed25519");
  const nonce = airgap.newNonce();
  const now = toIso(lic.clock.now());
  const claim: JsonObject = {
    v: airgap.FORMAT,
    kind: "activation_request",
    product: lic.product,
    key: normalized,
    fingerprint: (await lic.fingerprint()).toRequest(),
    nonce,
    created_at: now,
    box_key: box.publicText,
    proof_key: proof.publicText,
    app_version: lic.appVersion,
    os: `${osType()} ${osRelease()}`.trim(),
  };
  const keys = load(lic);
  keys.pending = [...keys.pending, { nonce, box: box.privateText, proof: proof.privateText, created_at: now }].slice(-MAX_PENDING);
  save(lic, keys);
  return airgap.signedClaim(airgap.REQUEST, claim, proof.privateText);
}

/** Install a response to one of this installation's requests; anything else throws `InvalidAnswer`. */
export async function installResponse(lic: Licentia, text: string | Uint8Array): Promise<Status> {
  const now = lic.clock.now();
  let unverified: JsonObject;
  try {
    unverified = airgap.unarmor(airgap.RESPONSE, text);
  } catch (err) {
    throw new InvalidAnswer(`not an activation response: ${(err as Error).message}`);
  }
  const nonce = unverified.request;
  if (unverified.v !== airgap.FORMAT) throw new InvalidAnswer("this activation response is damaged or of an unknown version");
  if (unverified.product !== lic.product) throw new InvalidAnswer("this activation response is for another product");
  const keys = load(lic);
  const pending = typeof nonce === "string" ? keys.pending.find((p) => p.nonce === nonce) : undefined;
  if (pending === undefined || typeof nonce !== "string") {
    throw new InvalidAnswer("this activation response answers a request this installation did not write");
  }
  const signed = unverified.signed;
  if (!isObject(signed)) throw new InvalidAnswer("the activation response carries no signed document");
  const previous = lic.stateFile.load();
  const at = serverTime(now, previous.clockOffset); // the local clock, set right by the last online answer if any
  let payload: JsonObject;
  try {
    // The hardware is this machine's: a response carried to another machine names other components.
    payload = verifyForInstallation(signed, lic.keys, lic.product, await lic.fingerprint(), at);
    parseIso(pyStr(payload.issued_at));
  } catch (err) {
    if (err instanceof InvalidDocument || err instanceof RangeError) {
      throw new InvalidAnswer(`the activation response does not verify for this machine: ${err.message}`);
    }
    throw err;
  }
  const offline = payload.offline;
  if (!isObject(offline) || offline.request !== nonce || !isToken(offline.activation)) {
    throw new InvalidAnswer("the signed document answers another request");
  }
  let opened: JsonValue;
  try {
    opened = parseJson(airgap.unseal(unverified.sealed, pending.box, Buffer.from(nonce, "ascii")));
  } catch (err) {
    throw new InvalidAnswer(`the activation response's credential does not open here: ${(err as Error).message}`);
  }
  const credential = isObject(opened) ? credentialOf(opened.device, opened.secret) : null;
  if (credential === null || credential[0] !== payload.device) {
    throw new InvalidAnswer("the activation response's credential names another installation");
  }
  const state = {
    ...emptyState(),
    signed,
    credential,
    token: isToken(payload.token) ? payload.token : null,
    lastSeen: toIso(now),
    factsOptOut: previous.factsOptOut,
    clockOffset: previous.clockOffset,
  };
  keys.pending = keys.pending.filter((p) => p !== pending);
  keys.activation = { id: offline.activation, device: credential[0], proof: pending.proof ?? null };
  keys.proof = null;
  save(lic, keys);
  lic.save(state);
  return statusOf(payload, at, false);
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
