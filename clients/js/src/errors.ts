/**
 * The SDK's one error tree. Every error the SDK throws is a `LicentiaError`,
 * so an application can catch one class around `check()` and never crash on
 * licensing:
 *
 *     LicentiaError
 *     ├── ConfigurationError   bad public key, product slug or data directory
 *     ├── InvalidKey           a license key with a typo, caught offline
 *     ├── InvalidDocument      a signed document that does not verify for this product
 *     ├── Offline              the server could not be reached in time
 *     └── ServerRefused        the server answered with an error (code, message, status, retryAfter, details)
 */

export class LicentiaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class ConfigurationError extends LicentiaError {}

export class InvalidKey extends LicentiaError {}

/** Verification failed; deliberately without detail worth exploiting. */
export class InvalidDocument extends LicentiaError {}

export class Offline extends LicentiaError {}

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
