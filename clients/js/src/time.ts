/** Timestamps as the core writes and reads them: UTC, ISO 8601, `Z` suffix. Times are ms since the epoch. */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parse an ISO 8601 timestamp (no offset means UTC); throws `RangeError` for anything else. */
export function parseIso(text: string): number {
  const m = ISO.exec(text);
  if (!m) throw new RangeError(`not an ISO 8601 time: ${JSON.stringify(text)}`);
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) throw new RangeError("time out of range");
  let when = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (new Date(when).getUTCDate() !== d) throw new RangeError("no such day");
  const zone = m[8];
  if (zone && zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    when -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return when;
}

/** `parseIso`, or `fallback` for no text or text that is not such a time. */
export function parseIsoOr<T>(text: string | null, fallback: T): number | T {
  if (!text) return fallback;
  try {
    return parseIso(text);
  } catch {
    return fallback;
  }
}

/** UTC, second precision, `Z` suffix: the one timestamp form in signed documents. */
export function toIso(when: number): string {
  return new Date(Math.floor(when / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** One clock passed in wherever time matters, so tests move time instead of sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

// Offsets beyond a century are nonsense (a document's time is years 1-9999): treated as none.
const MAX_OFFSET_SECONDS = 100 * 366 * 86_400;

/** Whether a kept offset is one the SDK uses (an integer within a century); anything else counts as 0. */
export function usableOffset(seconds: unknown): seconds is number {
  return typeof seconds === "number" && Number.isInteger(seconds) && Math.abs(seconds) <= MAX_OFFSET_SECONDS;
}

/**
 * Whole seconds to add to the local clock to get the server's, from a bound answer's
 * `issued_at` and the local time it arrived (ms). Rounded up, as the Python core does:
 * `issued_at` is the server's time cut to the second, so the server's time at receipt is
 * at least that, and judging a fraction of a second late never grants more than was signed.
 */
export function clockOffset(issued: number, localNow: number): number {
  const seconds = Math.ceil(Math.round(issued - localNow) / 1000);
  return usableOffset(seconds) ? seconds + 0 : 0; // + 0: never -0
}

/** The server's time now (ms), by the local clock and the offset the last bound answer measured. */
export function serverTime(localNow: number, offsetSeconds: number): number {
  return usableOffset(offsetSeconds) ? localNow + offsetSeconds * 1000 : localNow;
}
