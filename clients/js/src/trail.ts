/**
 * The proxy-log trail and the usage reports' schedule, as the signed status document asks
 * (docs/web-api.md, "The proxy-log trail"; the Python SDK's `client/trail.py` and `core/trail.py`).
 *
 * With `"proxy_trail": true` in the stored signed document, each install, register and usage
 * event goes first as plain GETs whose query carries its version and facts (never the license key
 * or the credential), then in its POST as always. The POST is the record: a failed GET is ignored,
 * and the GETs take at most half of the time left to the flush. With `"usage_report_once": true`,
 * a registered installation reports `usage` once only, `usage_report_days` after `registered_at`.
 */

import { FACT_NAMES } from "./facts";
import { isObject, type JsonObject, type JsonValue } from "./json";
import { parseIsoOr } from "./time";
import type { Transport } from "./transport";
import { EventKind } from "./vocabulary";

export const TRAIL_PATH = "/v1/trail";
/** The longest request target (path and query) a part may be: what Internet Explorer and many proxies take. */
export const MAX_TARGET_BYTES = 2000;
export const TRAIL_MODES: ReadonlySet<string> = new Set<string>([EventKind.INSTALL, EventKind.REGISTER, EventKind.USAGE]);
/** The fields a trail carries, in the order they are written; nothing else is ever sent. */
export const TRAIL_FIELDS: readonly string[] = [
  "version",
  ...FACT_NAMES,
  ...["author", "tracker"].flatMap((kind) => Array.from({ length: 10 }, (_, n) => `${kind}_${n + 1}`)),
];
const END = "&end=1";
const DAY_MS = 86_400_000;

/** RFC 3986 percent-encoding of the UTF-8 bytes: `A-Za-z0-9-._~` kept, the rest `%XX` upper-case. */
export function encode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function fieldText(value: JsonValue | undefined): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (typeof value === "bigint") return value.toString();
  return "";
}

/** The GETs' request targets for one event, each at most `MAX_TARGET_BYTES` long, packed greedily. */
export function trailTargets(product: string, mode: string, eventId: string, fields: JsonObject): string[] {
  const head = (n: number): string => `${TRAIL_PATH}?p=${encode(product)}&m=${encode(mode)}&i=${encode(eventId)}&n=${n}`;
  const fits = (target: string, piece: string): boolean => target.length + piece.length + END.length <= MAX_TARGET_BYTES;
  const parts: string[] = [];
  let n = 1;
  let current = head(n);
  for (const name of TRAIL_FIELDS) {
    const text = Object.prototype.hasOwnProperty.call(fields, name) ? fieldText(fields[name]) : "";
    if (!text) continue;
    let piece = `&${name}=${encode(text)}`;
    if (fits(current, piece)) {
      current += piece;
      continue;
    }
    if (current !== head(n)) {
      parts.push(current);
      n += 1;
      current = head(n);
    }
    if (!fits(current, piece)) {
      // Too long for a part of its own: the longest prefix of whole characters that fits.
      piece = `&${name}=`;
      for (const char of text) {
        const more = encode(char);
        if (!fits(current, piece + more)) break;
        piece += more;
      }
    }
    current += piece;
  }
  parts.push(current + END);
  return parts;
}

/** The signed `usage_report_days` when it is an integer from 1 to 9999, else 1. */
export function reportDays(value: JsonValue | undefined): number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 && value < 10_000 ? value : 1;
}

/** Whether a registered installation reports `usage` at this online check (`now`: ms, local clock). */
export function usageDue(payload: JsonObject, lastReport: string | null, now: number): boolean {
  if (payload.usage_report_once === true) {
    const registered = typeof payload.registered_at === "string" ? parseIsoOr(payload.registered_at, null) : null;
    if (lastReport !== null || registered === null) return false;
    return now - registered >= reportDays(payload.usage_report_days) * DAY_MS;
  }
  const days = typeof payload.usage_report_days === "number" && payload.usage_report_days > 0 ? payload.usage_report_days : 1;
  const last = parseIsoOr(lastReport, null);
  return last === null || now - last >= days * DAY_MS || now < last;
}

/** What an event's trail may carry: its facts and the application's version. */
export function trailFields(event: { data: JsonObject; facts: JsonObject }): JsonObject {
  const fields: JsonObject = isObject(event.facts) ? { ...event.facts } : {};
  fields.version = isObject(event.data) && event.data.app_version !== undefined ? event.data.app_version : null;
  return fields;
}

/** Send the trail GETs of a batch's install, register and usage events before its POST; errors are ignored. */
export async function sendTrail(
  transport: Transport,
  product: string,
  batch: readonly { id: string; kind: string; data: JsonObject; facts: JsonObject }[],
  deadline: number,
): Promise<number> {
  const until = Date.now() + Math.max(0, deadline - Date.now()) / 2;
  let taken = 0;
  for (const event of batch) {
    if (!TRAIL_MODES.has(event.kind)) continue;
    for (const target of trailTargets(product, event.kind, event.id, trailFields(event))) {
      const left = until - Date.now();
      if (left <= 0) return taken;
      try {
        await transport.trail(target, left);
        taken += 1;
      } catch {
        // best effort: the POST is the record
      }
    }
  }
  return taken;
}
