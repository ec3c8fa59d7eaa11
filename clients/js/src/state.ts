/**
 * Local state in `<dataDir>/state.json`, written atomically and sealed with a
 * MAC, in the Python SDK's format (so either SDK reads the other's file).
 *
 * The state (signed document, rotating token, last local time seen, the
 * clock's offset from the server's, event bookkeeping) is sealed with
 * HMAC-SHA256 under a key derived from the device secret. An edited or damaged
 * file, or one whose MAC does not match, is no state: offline it grants
 * nothing (`corrupt_state`), online the next check is a first contact. Before
 * the server issued a credential there is no key, so only the facts opt-out is
 * kept. What the MAC does not stop: the secret sits in this file, so someone
 * with full control of the machine can re-seal an edited state; what still
 * holds then is what the server signed, re-verified with the pinned key and
 * this machine's hardware on every use.
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { writeFileAtomic } from "./files";
import { canonicalText, isObject, parseJson, type JsonObject, type JsonValue } from "./json";
import { usableOffset } from "./time";
import { credentialOf, isToken } from "./tokens";

export const STATE_FILE = "state.json";
const FORMAT = 2;
const MAX_STATE_BYTES = 1 << 20;
const MAC_LABEL = "licentia-client state mac v1";

export function stateMac(device: string, secret: string, body: string): string {
  const key = createHmac("sha256", secret).update(MAC_LABEL).digest();
  return createHmac("sha256", key).update(`${device}\n${body}`, "utf8").digest("hex");
}

/** What the SDK remembers between runs; `signed` is unverified until used. */
export interface State {
  signed: JsonValue | null;
  credential: [string, string] | null;
  token: string | null;
  installReported: boolean;
  lastUsageReport: string | null;
  /** The latest local time seen (ISO 8601): a clock wound back below it is noticed. */
  lastSeen: string | null;
  /** Seconds from the local clock to the server's, measured on the last bound answer (`answers.ts`). */
  clockOffset: number;
  /** Seconds from the local clock to the file system's, measured at each save (`witnesses.ts`). */
  fileClockSkew: number;
  /** The credential is also kept outside the data folder (`escrow.ts`). */
  escrowed: boolean;
  factsOptOut: boolean;
  corrupt: boolean;
}

export function emptyState(corrupt = false): State {
  return {
    signed: null, credential: null, token: null, installReported: false, lastUsageReport: null, lastSeen: null,
    clockOffset: 0, fileClockSkew: 0, escrowed: false, factsOptOut: false, corrupt,
  };
}

export function stateToText(state: State): string {
  if (state.credential === null) return JSON.stringify({ format: FORMAT, facts_opt_out: state.factsOptOut });
  // canonicalText keeps the document's big integers exact.
  const body = canonicalText({
    signed: state.signed,
    token: state.token,
    install_reported: state.installReported,
    last_usage_report: state.lastUsageReport,
    last_seen: state.lastSeen,
    clock_offset: state.clockOffset,
    file_clock_skew: state.fileClockSkew,
    escrowed: state.escrowed,
    facts_opt_out: state.factsOptOut,
  });
  const [device, secret] = state.credential;
  return JSON.stringify({ format: FORMAT, device, secret, state: body, mac: stateMac(device, secret, body) });
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function stateFromBytes(raw: Uint8Array): State {
  let outer: JsonValue;
  try {
    outer = parseJson(raw);
  } catch {
    return emptyState(true);
  }
  if (isObject(outer) && outer.format === 1) return fromUnsealed(outer);
  const optOut = optedOut(outer);
  if (!isObject(outer) || outer.format !== FORMAT) return { ...emptyState(true), factsOptOut: optOut };
  const { device, secret, state: body, mac } = outer;
  if (device === undefined && secret === undefined && body === undefined && mac === undefined) {
    return { ...emptyState(), factsOptOut: outer.facts_opt_out === true };
  }
  if (![device, secret, body, mac].every((v) => typeof v === "string" && v)) return { ...emptyState(true), factsOptOut: optOut };
  // The credential travels in a header, outside every signature: a part that is not a token the
  // server makes (a secret with CR/LF) is damage, never sent (`tokens.ts`).
  const credential = credentialOf(device, secret);
  if (credential === null) return { ...emptyState(true), factsOptOut: optOut };
  let fields: JsonValue = null;
  try {
    if (sameText(stateMac(device as string, secret as string, body as string), mac as string)) fields = parseJson(body as string);
  } catch {
    fields = null;
  }
  if (!isObject(fields)) return { ...emptyState(true), factsOptOut: optOut };
  const text = (name: string): string | null => {
    const value = fields[name];
    return typeof value === "string" ? value : null;
  };
  const signed = fields.signed;
  const offset = fields.clock_offset;
  const skew = fields.file_clock_skew;
  const token = fields.token;
  return {
    signed: isObject(signed) ? signed : null,
    credential,
    token: isToken(token) ? token : null,
    installReported: fields.install_reported === true,
    lastUsageReport: text("last_usage_report"),
    lastSeen: text("last_seen"),
    // Shared with the Python SDK: a missing, non-integer (or absurd) offset is none.
    clockOffset: usableOffset(offset) ? offset : 0,
    fileClockSkew: usableOffset(skew) ? skew : 0,
    escrowed: fields.escrowed === true,
    factsOptOut: fields.facts_opt_out === true,
    corrupt: false,
  };
}

/** The user's opt-out, read even from a damaged file: honouring it can only send less. */
function optedOut(outer: JsonValue): boolean {
  if (!isObject(outer)) return false;
  if (outer.facts_opt_out === true) return true;
  return typeof outer.state === "string" && outer.state.includes('"facts_opt_out":true');
}

/**
 * A state written by an SDK before seals (format 1), sealed at its next save. Dropping it would lose
 * the credential; what is kept grants nothing by itself (the server checks the credential and the
 * token, the signature and this machine's hardware the document). No last-seen time: nothing vouched for it.
 */
function fromUnsealed(old: JsonObject): State {
  const cred = old.credential;
  const credential = Array.isArray(cred) && cred.length === 2 ? credentialOf(cred[0], cred[1]) : null;
  if (credential === null) return { ...emptyState(), factsOptOut: old.facts_opt_out === true };
  return {
    ...emptyState(),
    signed: isObject(old.signed) ? old.signed : null,
    credential,
    token: isToken(old.token) ? old.token : null,
    installReported: old.install_reported === true,
    factsOptOut: old.facts_opt_out === true,
  };
}

/** Reads and atomically replaces `state.json` in a data directory. */
export class StateFile {
  readonly path: string;

  constructor(readonly dataDir: string) {
    this.path = join(dataDir, STATE_FILE);
  }

  load(): State {
    let raw: Buffer;
    try {
      raw = readFileSync(this.path);
    } catch (err) {
      return emptyState((err as NodeJS.ErrnoException).code !== "ENOENT");
    }
    return raw.length > MAX_STATE_BYTES ? emptyState(true) : stateFromBytes(raw);
  }

  /** Replace the file atomically; with `now` (the local clock, ms), measure the file system's clock against it on the new file. */
  save(state: State, now?: number): void {
    writeFileAtomic(this.path, (mtimeMs) => {
      if (now !== undefined) {
        const skew = Math.round((mtimeMs - now) / 1000);
        state.fileClockSkew = usableOffset(skew) ? skew + 0 : 0;
      }
      return stateToText(state);
    });
  }
}
