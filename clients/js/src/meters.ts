/**
 * Metered use from the application: `lic.consume("renders", 3)` (`POST /v1/consume`). Same rules as
 * the Python SDK's `licentia.client.meters`.
 *
 * The server counts; the SDK only asks. Each consumption carries an idempotency key chosen here once,
 * so the retries after a network error (the answer may have been lost after the server counted) are
 * counted once. A refusal past the limit is `QuotaExceeded` with the figures.
 */

import { randomBytes } from "node:crypto";

import type { Licentia } from "./client";
import { ConfigurationError, InvalidAnswer, Offline, QuotaExceeded, ServerRefused, type Consumption } from "./errors";
import { isObject, parseJson, type JsonValue } from "./json";
import { parseIso, toIso } from "./time";
import { refusal } from "./transport";
import { ErrorCode } from "./vocabulary";

const METER_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,64}$/;
/** Attempts of one consumption when the network fails (the same idempotency key each time). */
const ATTEMPTS = 3;

function whole(value: JsonValue | undefined): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new TypeError("not a count");
  return value;
}

function text(value: JsonValue | undefined): string {
  if (typeof value !== "string" || value.length > 200) throw new TypeError("not a text");
  return value;
}

/** The server's figures, checked field by field; anything else is `InvalidAnswer`. */
export function consumptionOf(unverified: JsonValue): Consumption {
  try {
    if (!isObject(unverified)) throw new TypeError("not an object");
    const end = unverified.period_end;
    return Object.freeze({
      meter: text(unverified.meter),
      used: whole(unverified.used),
      limit: whole(unverified.limit),
      remaining: whole(unverified.remaining),
      period: text(unverified.period),
      periodStart: new Date(parseIso(text(unverified.period_start))),
      periodEnd: end === null ? null : new Date(parseIso(text(end))),
      replayed: unverified.replayed === true,
    });
  } catch {
    throw new InvalidAnswer("the server's answer to a consumption is malformed");
  }
}

/** Count `amount` of `meter` on the server (see `Licentia.consume`). */
export async function consume(lic: Licentia, meter: string, amount: number, idempotencyKey?: string): Promise<Consumption> {
  if (typeof meter !== "string" || !METER_NAME.test(meter)) throw new ConfigurationError(`not a meter name: ${JSON.stringify(meter)}`);
  if (!Number.isSafeInteger(amount) || amount < 0) throw new ConfigurationError(`the amount is a whole number from 0, not ${amount}`);
  const key = idempotencyKey ?? randomBytes(16).toString("hex");
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw new ConfigurationError("an idempotency key is 1-64 printable ASCII characters without spaces");
  }
  const deadline = Date.now() + lic.transport.timeoutMs * ATTEMPTS;
  let refreshed = false;
  for (let attempt = 1; ; attempt++) {
    if (Date.now() >= deadline) throw new Offline("no time left before the timeout");
    const credential = await lic.credential();
    const body = { meter, amount, token: lic.stateFile.load().token, idempotency_key: key };
    try {
      const answer = await lic.transport.request("POST", "/v1/consume", { body, credential, timeoutMs: deadline - Date.now() });
      return consumptionOf(answer);
    } catch (err) {
      if (err instanceof ServerRefused) {
        if (err.code === ErrorCode.QUOTA_EXCEEDED) throw new QuotaExceeded(figuresOfRefusal(err, meter, lic.clock.now()), err.serverMessage, err.details);
        if ((err.code === ErrorCode.STALE_TOKEN || err.code === ErrorCode.INVALID_CREDENTIAL) && !refreshed) {
          // Another process of this installation rotated the token (or the secret was replaced):
          // one online check brings the live ones.
          refreshed = true;
          await lic.check();
          continue;
        }
        throw err;
      }
      // The same key on a retry: counted once even if the lost answer had been counted.
      if (!(err instanceof Offline) || attempt >= ATTEMPTS || Date.now() >= deadline) throw err;
    }
  }
}

/** A quota refusal's figures (plain fields beside the code; `meter` the one asked when absent), or "nothing left" dated `now`. */
function figuresOfRefusal(err: ServerRefused, meter: string, now: number): Consumption {
  try {
    return consumptionOf({ meter, ...err.details } as JsonValue);
  } catch {
    // A refusal without readable figures still says: nothing left.
    return Object.freeze({ meter, used: 0, limit: 0, remaining: 0, period: "unknown", periodStart: new Date(Math.floor(now / 1000) * 1000), periodEnd: null, replayed: false });
  }
}

/** What a consumption's answer means (the `consumption` vectors): what `consume()` does with it. */
export type ConsumptionOutcome =
  | { outcome: "consumed" | "quota_exceeded"; code: string | null; consumption: Consumption }
  | { outcome: "invalid_answer" | "offline"; code: null; consumption: null }
  | { outcome: "check_and_retry" | "refused"; code: string; consumption: null };

/** Read the answer (`status`, `body`) to a consumption of `meter` received at `now` (ms). */
export function consumptionOutcome(meter: string, now: number, status: number, body: Uint8Array): ConsumptionOutcome {
  if (status >= 500) return { outcome: "offline", code: null, consumption: null };
  if (status >= 400) {
    const refused = refusal(status, body, undefined);
    if (refused.code === ErrorCode.QUOTA_EXCEEDED) return { outcome: "quota_exceeded", code: refused.code, consumption: figuresOfRefusal(refused, meter, now) };
    const retry = refused.code === ErrorCode.STALE_TOKEN || refused.code === ErrorCode.INVALID_CREDENTIAL;
    return { outcome: retry ? "check_and_retry" : "refused", code: refused.code, consumption: null };
  }
  try {
    return { outcome: "consumed", code: null, consumption: consumptionOf(parseJson(body)) };
  } catch {
    return { outcome: "invalid_answer", code: null, consumption: null };
  }
}

/** A consumption in the wire's words (the vectors'). */
export function consumptionAsWire(c: Consumption): Record<string, unknown> {
  return {
    meter: c.meter, used: c.used, limit: c.limit, remaining: c.remaining, period: c.period,
    period_start: toIso(c.periodStart.getTime()), period_end: c.periodEnd === null ? null : toIso(c.periodEnd.getTime()), replayed: c.replayed,
  };
}
