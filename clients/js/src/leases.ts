/**
 * Floating licenses: `lic.checkout(key)` holds a seat while the application runs. Same rules as the
 * Python SDK's `licentia.client.leases`.
 *
 * A `Lease` keeps its seat with heartbeats on a timer at the interval the server signed (a third of
 * the lease time). The timer is `unref`'d: it never keeps Node running on its own (an application
 * that is done exits; the seat frees when the lease ends, or at once with `release()`). Heartbeats
 * never throw into the application: a network failure is retried sooner until the lease's end, a
 * lease the server ended is checked out again (if a seat is free), and `state`, `valid` and `error`
 * tell what happened.
 *
 * Every lease document is verified before it is trusted, as a status document is: the pinned key,
 * the product, `type` `floating_lease`, this machine's hardware, and (online) this request's nonce,
 * device and machine. The last one is kept in `<dataDir>/lease.json`: a *borrowed* lease
 * (`borrowDays`) works offline from it until its end, and not after; the local clock is checked
 * against the same rollback witnesses as offline checks.
 */

import { performance } from "node:perf_hooks";

import { Asked } from "./answers";
import { ConfigurationError, InvalidAnswer, InvalidKey, Offline, ServerRefused } from "./errors";
import type { Licentia } from "./client";
import { forgetLease, judgeLeaseAnswer, judgeStoredLease, leaseTerms, readKept, saveLease, type LeasePayload } from "./lease_documents";
import type { JsonObject, JsonValue } from "./json";
import { normalizeKey } from "./rules";
import type { Entitlement } from "./status";
import { serverTime, toIso } from "./time";
import { ErrorCode } from "./vocabulary";

/** Never heartbeat more often than this, whatever a document says (a server's bug must not flood it). */
export const MIN_HEARTBEAT_MS = 50;
/** After a failed heartbeat, try again this many times sooner than the regular interval. */
const RETRY_FRACTION = 4;

export type LeaseState = "active" | "borrowed" | "expired" | "lost" | "released";

// Refusals after which heartbeats stop: only the vendor or the customer can change them.
const FINAL: ReadonlySet<string> = new Set([
  ErrorCode.LICENSE_SUSPENDED, ErrorCode.LICENSE_REVOKED, ErrorCode.LICENSE_EXPIRED, ErrorCode.NOT_FLOATING, ErrorCode.INVALID_KEY,
]);

/**
 * A floating seat held by this machine. `state`: `active` (held, heartbeats running), `borrowed`
 * (held for offline use until `expiresAt`), `expired` (no heartbeat reached the server before the
 * lease's end), `lost` (the server ended it and no seat was free, or the license stopped allowing
 * use: `error` says why), `released`. `valid` is what the application checks.
 */
export class Lease {
  id = "";
  expiresAt = new Date(0);
  borrowed = false;
  entitlements: Readonly<Record<string, Entitlement>> = {};
  features: readonly string[] = [];
  /** Seconds between heartbeats, as the server signed them. */
  heartbeatSeconds = 60;
  heartbeats = 0;
  /** Why the lease was lost (a refusal's code), or the last heartbeat's failure (`offline: ...`). */
  error: string | null = null;
  private current: LeaseState = "active";
  private deadline = 0; // performance.now() scale
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** @internal */
  constructor(
    private readonly lic: Licentia,
    private readonly key: string | null, // in memory only, to check out again when the server ended the lease
    payload: LeasePayload,
    signed: JsonObject,
    /** False: read from `<dataDir>/lease.json` (a borrow used offline). */
    public online = true,
  ) {
    this.take(payload, signed, online ? payload.issuedMs : serverTime(lic.clock.now(), lic.stateFile.load().clockOffset));
  }

  get state(): LeaseState {
    if ((this.current === "active" || this.current === "borrowed") && performance.now() >= this.deadline) return "expired";
    return this.current;
  }

  /** Whether the application may run now: a held lease whose end has not come. */
  get valid(): boolean {
    const state = this.state;
    return state === "active" || state === "borrowed";
  }

  /** An entitlement's value while the lease is valid, else `fallback`. */
  entitlement<T extends Entitlement | null | undefined = undefined>(name: string, fallback?: T): Entitlement | T {
    return this.valid && Object.prototype.hasOwnProperty.call(this.entitlements, name) ? (this.entitlements[name] as Entitlement) : (fallback as T);
  }

  /** Send one heartbeat now (the timer does this by itself); throws the SDK's errors. */
  async heartbeat(): Promise<void> {
    if (this.current === "released") throw new ServerRefused(ErrorCode.LEASE_EXPIRED, "this lease was released", 410);
    const [payload, signed] = await verified(this.lic, ...(await leaseCall(this.lic, `/v1/leases/${this.id}/heartbeat`)));
    if ((this.current as LeaseState) === "released") return; // released while the heartbeat was under way
    this.online = true;
    this.take(payload, signed, payload.issuedMs);
    this.heartbeats += 1;
  }

  /** Return the seat now (a borrowed one too, early). Offline, the seat frees when the lease ends. */
  async release(): Promise<void> {
    this.stopHeartbeats();
    if (this.current === "released") return;
    try {
      await leaseCall(this.lic, `/v1/leases/${this.id}/release`);
    } catch (err) {
      if (!(err instanceof ServerRefused && err.code === ErrorCode.UNKNOWN_LEASE)) throw err;
    } finally {
      this.current = "released";
      forgetLease(this.lic, this.id);
    }
  }

  /** Start the heartbeat timer (`everyMs`: default the signed interval); a borrowed lease needs none. */
  startHeartbeats(everyMs?: number): void {
    if (this.timer !== null || this.borrowed || this.current === "released") return;
    this.stopped = false;
    const interval = Math.max(MIN_HEARTBEAT_MS, everyMs ?? this.heartbeatSeconds * 1000);
    this.schedule(interval, interval);
  }

  /** Stop the heartbeat timer (the lease then ends at `expiresAt` unless renewed). */
  stopHeartbeats(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(wait: number, interval: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.beatOnce().then(
        (held) => {
          this.timer = null;
          if (this.current === "released" || (this.current === "lost" && FINAL.has(this.error ?? ""))) return;
          this.schedule(held ? interval : interval / RETRY_FRACTION, interval);
        },
        () => this.schedule(interval, interval), // a fault of ours: never thrown into the application
      );
    }, wait);
    this.timer.unref(); // a lease never keeps the process alive by itself
  }

  /** One heartbeat (or a new checkout after the server ended the lease); true when the seat is held. */
  private async beatOnce(): Promise<boolean> {
    try {
      await this.heartbeat();
      return true;
    } catch (err) {
      if (err instanceof Offline) {
        this.error = `offline: ${err.message}`; // the lease holds until its end; retried sooner
        return false;
      }
      if (!(err instanceof ServerRefused) || this.stopped) return false;
      if (err.code !== ErrorCode.LEASE_EXPIRED && err.code !== ErrorCode.UNKNOWN_LEASE) {
        this.lost(err.code);
        return false;
      }
    }
    // The server ended the lease (it expired while offline, or the vendor freed it): take a seat again.
    if (this.key === null) {
      this.lost(ErrorCode.LEASE_EXPIRED);
      return false;
    }
    try {
      const [payload, signed] = await verified(this.lic, ...(await leaseCall(this.lic, "/v1/leases", { key: this.key })));
      if (!this.stopped) {
        this.online = true;
        this.take(payload, signed, payload.issuedMs);
      }
      return true;
    } catch (err) {
      if (err instanceof ServerRefused) this.lost(err.code);
      else this.error = `offline: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
  }

  private lost(code: string): void {
    if (this.current === "released") return;
    this.current = "lost";
    this.error = code;
  }

  /** Take a verified document: from now on the lease lasts what the server signed (on the monotonic clock). */
  private take(payload: LeasePayload, signed: JsonObject, now: number): void {
    const terms = leaseTerms(payload, now);
    this.deadline = performance.now() + terms.secondsLeft * 1000;
    this.id = terms.id;
    this.expiresAt = new Date(terms.expiresMs);
    this.borrowed = terms.borrowed;
    this.current = this.borrowed ? "borrowed" : "active";
    this.error = null;
    this.entitlements = terms.entitlements;
    this.features = terms.features;
    this.heartbeatSeconds = terms.heartbeatSeconds;
    saveLease(this.lic, signed);
  }
}

/** Check out a seat; offline, a stored borrowed lease still valid. See `Licentia.checkout`. */
export async function checkout(lic: Licentia, key: string, options: { borrowDays?: number; heartbeats?: boolean } = {}): Promise<Lease> {
  const { borrowDays } = options;
  if (borrowDays !== undefined && (!Number.isInteger(borrowDays) || borrowDays < 1 || borrowDays > 365)) {
    throw new ConfigurationError("borrowDays is a whole number of days from 1 to 365");
  }
  let normalized: string;
  try {
    normalized = normalizeKey(key);
  } catch (err) {
    throw err instanceof InvalidKey ? err : new InvalidKey(String(err)); // before any network call
  }
  let exchange: [JsonValue, Asked];
  try {
    exchange = await leaseCall(lic, "/v1/leases", { key: normalized, borrowDays });
  } catch (err) {
    if (!(err instanceof Offline)) throw err;
    const stored = await storedLease(lic);
    if (stored === null || !stored.borrowed) throw err;
    return stored;
  }
  const lease = new Lease(lic, normalized, ...(await verified(lic, ...exchange)));
  if (options.heartbeats ?? true) lease.startHeartbeats();
  return lease;
}

/**
 * POST a lease call with this installation's credential (a first contact if it has none yet) and a
 * fresh nonce; a credential the server no longer knows is replaced once, as `check()` does.
 */
async function leaseCall(lic: Licentia, path: string, ask: { key?: string; borrowDays?: number | undefined } = {}): Promise<[JsonValue, Asked]> {
  for (let attempt = 1; ; attempt++) {
    const credential = await lic.credential();
    const asked = Asked.by(lic.stateFile.load());
    const body: Record<string, unknown> = { nonce: asked.nonce };
    if (ask.key !== undefined) {
      Object.assign(body, { product: lic.product, key: ask.key });
      if (ask.borrowDays !== undefined) body.borrow_days = ask.borrowDays;
    }
    try {
      return [await lic.transport.request("POST", path, { body, credential }), asked];
    } catch (err) {
      if (!(err instanceof ServerRefused) || err.code !== ErrorCode.INVALID_CREDENTIAL || attempt === 2) throw err;
      await lic.check(); // the server re-identifies this installation and issues a new credential
    }
  }
}

/** The verified lease document of `answer`, if it answers this request for this installation; else `InvalidAnswer` naming the rule. */
async function verified(lic: Licentia, answer: JsonValue, asked: Asked): Promise<[LeasePayload, JsonObject]> {
  const verdict = judgeLeaseAnswer(answer, asked, lic.keys, lic.product, await lic.fingerprint());
  if (!verdict.accepted) throw new InvalidAnswer(`the server's answer is not a lease for this request and machine (${verdict.refusal})`);
  return [verdict.payload, verdict.signed];
}

/**
 * The lease kept in `<dataDir>/lease.json` if it verifies for this machine and has not ended, else
 * null. Only a borrowed lease is meant to be used this way; the local clock is trusted only while no
 * witness says it was wound back.
 */
export async function storedLease(lic: Licentia): Promise<Lease | null> {
  const now = lic.clock.now();
  const unverified = readKept(lic);
  const state = lic.stateFile.load();
  const witness = await lic.latestSeen(state);
  if (witness !== null && now + lic.rollbackToleranceMs < witness) return null; // wound back, to stretch a borrow
  const lastSeen = state.lastSeen === null ? null : Date.parse(state.lastSeen);
  if (state.credential !== null && (lastSeen === null || Number.isNaN(lastSeen) || now > lastSeen)) {
    state.lastSeen = toIso(now); // a later winding back of the clock is caught against this
    try {
      lic.stateFile.save(state, now);
    } catch {
      // a read-only data folder: rollback detection is weaker then
    }
  }
  if (unverified === null) return null;
  const verdict = judgeStoredLease(unverified, lic.keys, lic.product, await lic.fingerprint(), now, state.clockOffset);
  return verdict.accepted ? new Lease(lic, null, verdict.payload, verdict.signed, false) : null;
}
