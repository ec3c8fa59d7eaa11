/**
 * The SDK's one error tree. Every error the SDK throws is a `LicentiaError`,
 * so an application can catch one class around `check()` and never crash on
 * licensing:
 *
 *     LicentiaError
 *     ├── ConfigurationError   bad public key, product slug or data directory
 *     ├── InvalidKey           a license key with a typo, caught offline
 *     ├── Offline              the server could not be reached in time
 *     │   └── InvalidAnswer    an answer that is garbage or not the answer to this request: as good as none
 *     │       └── InvalidDocument   a signed document that does not verify for this product and installation
 *     └── ServerRefused        the server answered with an error (code, message, status, retryAfter, details)
 *         └── QuotaExceeded    `consume()` past a meter's limit: nothing was counted (`consumption`)
 *
 * Node's own errors (file system, sockets, crypto) are mapped to these and never escape.
 */

export class LicentiaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class ConfigurationError extends LicentiaError {}

export class InvalidKey extends LicentiaError {}

export class Offline extends LicentiaError {}

/** The server's answer was garbage or did not answer this request; nothing of it was used or stored. */
export class InvalidAnswer extends Offline {}

/** Verification failed; deliberately without detail worth exploiting. */
export class InvalidDocument extends InvalidAnswer {}

/** A refusal's other plain fields, e.g. `transfer_limit`'s `next_transfer_at` (unverified: figures to show, never to grant by). */
export type RefusalDetails = Readonly<Record<string, string | number | boolean | null>>;

export class ServerRefused extends LicentiaError {
  readonly code: string;
  readonly status: number;
  /** Seconds from the `Retry-After` header (`rate_limited`, `no_seat_available`, `transfer_limit`), or null. */
  readonly retryAfter: number | null;
  readonly serverMessage: string;
  readonly details: RefusalDetails;

  constructor(code: string, message: string, status = 400, retryAfter: number | null = null, details: RefusalDetails = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.serverMessage = message;
    this.status = status;
    this.retryAfter = retryAfter;
    this.details = Object.freeze({ ...details });
  }
}

/** A meter's standing (`consume()`'s answer, and the figures of a `QuotaExceeded`). */
export interface Consumption {
  readonly meter: string;
  readonly used: number;
  readonly limit: number;
  readonly remaining: number;
  /** `day`, `month`, `year`, `lifetime`, ... as the license type says. */
  readonly period: string;
  readonly periodStart: Date;
  /** Null for a meter that never resets. */
  readonly periodEnd: Date | null;
  /** The server had already counted this consumption (a retry whose first answer was lost). */
  readonly replayed: boolean;
}

/** 409 `quota_exceeded`: the consumption would pass the meter's limit for the period; nothing was counted. */
export class QuotaExceeded extends ServerRefused {
  constructor(
    readonly consumption: Consumption,
    message: string,
    details: RefusalDetails = {},
  ) {
    super("quota_exceeded", message, 409, null, details);
  }
}
