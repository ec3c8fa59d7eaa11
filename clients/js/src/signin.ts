/**
 * Signing the application's user in: the OAuth 2.0 device authorization grant (RFC 8628), as the
 * Python SDK's `licentia.client.signin` does it.
 *
 * For a license whose seats are named users. The application asks the server for a code
 * (`beginSignIn`), shows it with the portal's address, and polls (`finishSignIn`) while the person
 * confirms it in their browser; once they did, the answer is the signed status document, now naming
 * the user (`status.user`), verified, bound to the poll's nonce and stored as every check's answer
 * is. The device code is this installation's alone (the server checks its credential at each poll):
 * it is never shown, logged, nor written to disk.
 */

import type { Licentia } from "./client";
import { InvalidAnswer, Offline, ServerRefused } from "./errors";
import { isObject, type JsonValue } from "./json";
import type { Status } from "./status";
import { ErrorCode } from "./vocabulary";

/** Seconds a `slow_down` answer adds to the interval (RFC 8628 section 3.5). */
export const SLOW_DOWN_STEP = 5;

/** A device code in memory only: not an enumerable field, so neither JSON nor `console.log` shows it. */
const deviceCodes = new WeakMap<SignInCode, string>();

/**
 * What to show the person: `userCode` and where to type it (`verificationUri`). `verificationUriComplete`
 * is the same page with the code filled in (a link to open, or a QR code). `expiresIn` and `interval`
 * are seconds.
 */
export class SignInCode {
  constructor(
    readonly userCode: string,
    readonly verificationUri: string,
    readonly verificationUriComplete: string,
    readonly expiresIn: number,
    readonly interval: number,
    deviceCode: string,
  ) {
    deviceCodes.set(this, deviceCode);
    Object.freeze(this);
  }
}

/** @internal The secret half of a code (its poll's `device_code`). */
export function deviceCodeOf(code: SignInCode): string {
  const found = deviceCodes.get(code);
  if (found === undefined) throw new TypeError("not a code from beginSignIn()");
  return found;
}

function page(value: JsonValue | undefined): string {
  if (typeof value !== "string" || !/^https?:\/\/[\x21-\x7e]+$/.test(value)) throw new InvalidAnswer("the sign-in answer names no web page");
  return value;
}

const lifetime = (n: JsonValue | undefined): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0 && n <= 86_400;

/** The server's answer to `POST /v1/device/authorize`, checked field by field. */
export function signInCodeOf(unverified: JsonValue): SignInCode {
  if (!isObject(unverified)) throw new InvalidAnswer("the sign-in answer is not an object");
  const { user_code: code, device_code: deviceCode, expires_in: expiresIn, interval } = unverified;
  if (typeof code !== "string" || !/^[\x20-\x7e]{1,20}$/.test(code)) throw new InvalidAnswer("the sign-in answer has no code to show");
  if (typeof deviceCode !== "string" || deviceCode.length === 0 || deviceCode.length > 100) {
    throw new InvalidAnswer("the sign-in answer has no device code");
  }
  if (!lifetime(expiresIn) || !lifetime(interval)) throw new InvalidAnswer("the sign-in answer has no lifetime or interval");
  const uri = page(unverified.verification_uri);
  const complete = page(unverified.verification_uri_complete ?? unverified.verification_uri);
  return new SignInCode(code, uri, complete, expiresIn, interval, deviceCode);
}

/** Ask the server for a sign-in code for this installation (its credential, asked for at first contact). */
export async function beginSignIn(lic: Licentia): Promise<SignInCode> {
  const credential = await lic.credential();
  const answer = await lic.transport.request("POST", "/v1/device/authorize", { body: { product: lic.product }, credential });
  return signInCodeOf(answer);
}

/** How `finishSignIn` waits: the real timers by default (tests pass their own). */
export interface Waiting {
  sleep(ms: number): Promise<void>;
  /** A monotonic time in ms. */
  now(): number;
}

const realWaiting: Waiting = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => performance.now(),
};

/**
 * Poll every `interval` seconds (plus 5 after each `slow_down`) until the person confirmed: the
 * status, naming the user. Rejects with `ServerRefused` `access_denied` (refused in the portal) or
 * `expired_token` (nobody confirmed in time: begin again), and `Offline` once `timeoutMs` passed
 * (by default the code's lifetime and one interval).
 */
export async function finishSignIn(
  poll: (deviceCode: string) => Promise<Status>,
  code: SignInCode,
  timeoutMs?: number,
  waiting: Waiting = realWaiting,
): Promise<Status> {
  const deviceCode = deviceCodeOf(code);
  const giveUp = waiting.now() + (timeoutMs ?? (code.expiresIn + code.interval) * 1000);
  let interval = code.interval * 1000;
  for (;;) {
    await waiting.sleep(Math.min(interval, Math.max(0, giveUp - waiting.now())));
    if (waiting.now() >= giveUp) throw new Offline("the sign-in was not confirmed in time");
    try {
      return await poll(deviceCode);
    } catch (err) {
      if (err instanceof ServerRefused) {
        if (err.code === ErrorCode.SLOW_DOWN) interval += SLOW_DOWN_STEP * 1000;
        else if (err.code !== ErrorCode.AUTHORIZATION_PENDING) throw err;
      } else if (!(err instanceof Offline) || waiting.now() >= giveUp) {
        // A network blip while waiting (nothing of an unverified answer is kept): keep polling until the deadline.
        throw err;
      }
    }
  }
}
