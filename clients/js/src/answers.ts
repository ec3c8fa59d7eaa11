/**
 * Online answers a client can trust: bound to the request that asked, and the
 * server's time kept as an offset. Same rules as `licentia.core.answers`; the
 * conformance vectors' `online` cases hold this file to them.
 *
 * Every online call that answers a signed document (check, activate,
 * deactivate) sends a fresh random `nonce`, which the server signs into the
 * document. Once the signature verifies and the document names this
 * installation's hardware and data path, the answer is taken only if, in this
 * order:
 *
 * 1. `nonce`: the document carries exactly the nonce this request sent. A saved
 *    genuine answer (replayed by a fake server, however old or however far in
 *    the future it was issued) carries another nonce or none.
 * 2. `device`: the document names the installation that asked: the one whose
 *    credential the request carried, or the one whose new credential the answer
 *    carries (first contact, or a state the server re-identified).
 * 3. `machine`: when the document names the installation that asked and the
 *    client holds a verified document of it, the same machine as that one (an
 *    installation never changes machine; a copy the server re-identified is a
 *    new installation, with a new credential, and may be on another machine).
 *
 * A bound answer's `issued_at` is the server's time, fresh to within the round
 * trip: the client keeps `issued_at - local now` (`clockOffset`) in its sealed
 * state and judges offline at its own clock plus that offset.
 */

import { randomBytes } from "node:crypto";

import { InvalidDocument } from "./errors";
import { isObject, type JsonObject, type JsonValue } from "./json";
import { pyStr, verifyDocument, type PinnedKeys } from "./signing";
import type { State } from "./state";
import { statusOf, verifyForInstallation, type PresentedFingerprint, type Status } from "./status";
import { clockOffset, parseIso } from "./time";
import { isToken } from "./tokens";

export { isToken };

/** Why an answer is refused: the first rule it fails (the conformance vectors' `refusal`). */
export const Refusal = {
  INVALID_DOCUMENT: "invalid_document",
  NONCE_MISMATCH: "nonce_mismatch",
  OTHER_INSTALLATION: "other_installation",
  OTHER_MACHINE: "other_machine",
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

/** 16 random bytes from the OS, unpadded base64url (22 characters): what a request sends as `nonce`. */
export function newNonce(): string {
  return randomBytes(16).toString("base64url");
}


/** What one online request asked: its fresh nonce, and the installation it spoke for. */
export class Asked {
  constructor(
    readonly nonce: string,
    /** The device whose credential the request carried (null at first contact). */
    readonly device: string | null,
    /** The installation's last signed document, unverified (null when none is kept). */
    readonly known: JsonValue | null,
  ) {}

  /** A fresh nonce for a request sent with this state's credential. */
  static by(state: State): Asked {
    return new Asked(newNonce(), state.credential !== null ? state.credential[0] : null, state.signed);
  }

  /** The machine of the installation's last verified document (an installation never changes machine). */
  machine(keys: PinnedKeys, product: string): string | null {
    if (this.device === null || this.known === null) return null;
    let known: JsonObject;
    try {
      known = verifyDocument(this.known, keys, product);
    } catch {
      return null; // a kept document that does not verify is no evidence either way
    }
    return known.device === this.device && typeof known.machine === "string" ? known.machine : null;
  }
}

/**
 * The credential an answer carries (outside the signature: only the server can tell a genuine one),
 * kept only when it is for the device the verified document names and both parts are tokens.
 */
export function credentialOf(offered: JsonValue | undefined, documentDevice: JsonValue | undefined): readonly [string, string] | null {
  if (!isObject(offered)) return null;
  const { device, secret } = offered;
  return isToken(device) && isToken(secret) && device === documentDevice ? [device, secret] : null;
}

/** Why a verified answer is not the answer to this request (null: it is). */
export function refusal(
  payload: JsonObject,
  asked: { nonce: string; device: string | null; machine: string | null; credentialDevice: string | null },
): Refusal | null {
  if (typeof payload.nonce !== "string" || payload.nonce !== asked.nonce) return Refusal.NONCE_MISMATCH;
  const expected = asked.credentialDevice ?? asked.device;
  const named = payload.device;
  if (expected === null || typeof named !== "string" || named !== expected) return Refusal.OTHER_INSTALLATION;
  if (asked.machine !== null && named === asked.device && payload.machine !== asked.machine) return Refusal.OTHER_MACHINE;
  return null;
}

/** What the client does with a server's answer: keep these, or refuse it for `refusal`. */
export type AnswerVerdict =
  | {
      readonly accepted: true;
      /** The signed document exactly as received (now verified), to keep. */
      readonly signed: JsonObject;
      /** A new credential for the device the document names, if the answer carries one. */
      readonly credential: readonly [string, string] | null;
      /** The document's new rotating token (null: "suspected copy", keep the old one). */
      readonly token: string | null;
      /** Seconds from the local clock to the server's, measured on this answer. */
      readonly clockOffset: number;
      /** The status, judged at the server's time (the document's `issued_at`). */
      readonly status: Status;
    }
  | { readonly accepted: false; readonly refusal: Refusal; readonly message: string };

function refused(why: Refusal, detail: string): AnswerVerdict {
  return Object.freeze({ accepted: false as const, refusal: why, message: `${detail} (${why})` });
}

/**
 * Judge a server's answer to the request `asked`, received at local time
 * `receivedAt` (ms). Pure: nothing is stored; the caller keeps an accepted
 * answer's parts and refuses the rest with the message, which names the
 * refusal word.
 */
export function judgeAnswer(
  answer: JsonValue,
  asked: Asked,
  keys: PinnedKeys,
  product: string,
  fingerprint: PresentedFingerprint,
  receivedAt: number,
): AnswerVerdict {
  if (!isObject(answer) || !isObject(answer.signed)) return refused(Refusal.INVALID_DOCUMENT, "the server's answer carries no signed document");
  const unverifiedSigned = answer.signed;
  let payload: JsonObject;
  let issued: number;
  try {
    // No issue-time check here: a bound answer's time is the server's, whatever the local clock says.
    payload = verifyForInstallation(unverifiedSigned, keys, product, fingerprint);
    issued = parseIso(pyStr(payload.issued_at));
  } catch (err) {
    const detail = err instanceof InvalidDocument ? err.message : "document has no valid issue time";
    return refused(Refusal.INVALID_DOCUMENT, `the server's answer does not verify: ${detail}`);
  }
  const credential = credentialOf(answer.credential, payload.device);
  const why = refusal(payload, {
    nonce: asked.nonce,
    device: asked.device,
    machine: asked.machine(keys, product),
    credentialDevice: credential !== null ? credential[0] : null,
  });
  if (why !== null) return refused(why, "the server's answer is not the answer to this request");
  return Object.freeze({
    accepted: true as const,
    signed: unverifiedSigned,
    credential,
    token: isToken(payload.token) ? payload.token : null,
    clockOffset: clockOffset(issued, receivedAt),
    status: statusOf(payload, issued, true),
  });
}
