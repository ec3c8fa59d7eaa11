/** `Licentia`: the object an application creates once and asks `check()`. */

import { release as osRelease, type as osType } from "node:os";
import { resolve } from "node:path";

import { Asked, judgeAnswer } from "./answers";
import { Escrow } from "./escrow";
import { collectFacts, FACT_NAMES, factsDisabledByEnvironment } from "./facts";
import { ConfigurationError, InvalidDocument, InvalidKey, LicentiaError, Offline, ServerRefused } from "./errors";
import { Fingerprint, takeFingerprint } from "./fingerprint";
import type { HardwareSource } from "./hardware";
import { isObject, type JsonObject, type JsonValue } from "./json";
import { moveFrom } from "./moves";
import { EventQueue, type FlushResult } from "./queue";
import { dataPathHash, keyPrefix, normalizeKey } from "./rules";
import { pinKeys } from "./signing";
import { StateFile, type State } from "./state";
import { decideOffline, DEFAULT_ROLLBACK_TOLERANCE_MS, denied, Status } from "./status";
import { parseIsoOr, systemClock, toIso, type Clock } from "./time";
import { Transport } from "./transport";
import { Values } from "./values";
import { DeviceStatus, ErrorCode, EventKind } from "./vocabulary";

export const DEFAULT_TIMEOUT_MS = 3000;
// last_seen is written at most this often on offline checks: a write (with fsync)
// per check costs far more than the check, and a clock wound back by less than
// this plus the tolerance buys almost nothing.
const LAST_SEEN_STEP_MS = 10 * 60 * 1000;

export interface LicentiaOptions {
  serverUrl: string;
  /** The product's slug, e.g. `my-app`. */
  product: string;
  /** The product's public key (`ed25519:<kid>:<key>`), or several during a key rotation. */
  publicKey: string | readonly string[];
  /** Where state and queued events live (one directory per installation). */
  dataDir: string;
  timeoutMs?: number;
  clock?: Clock;
  appVersion?: string | null;
  channel?: string;
  rollbackToleranceMs?: number;
  /** Fakes for the hardware readers (tests); the real machine by default. */
  hardware?: HardwareSource;
  /** Client facts to send as evidence: none by default, `true` for all, or a list of names (disclose them). */
  facts?: boolean | readonly string[];
  /** Free fields from the registration form (`author_1`..`author_10`) and the application (`tracker_1`..). */
  authors?: readonly string[];
  trackers?: readonly string[];
}

type Extra = Record<string, unknown>;

/**
 * Licensing for one product inside one application. Nothing signed by any
 * key but the pinned ones (or keys they endorsed) is ever trusted, and every
 * method throws only `LicentiaError`s.
 */
export class Licentia {
  readonly product: string;
  readonly dataDir: string;
  readonly transport: Transport;
  readonly queue: EventQueue;
  readonly values: Values;
  /** This installation's credential kept outside the data folder, for a reinstall (`escrow.ts`). */
  readonly escrow: Escrow;
  readonly appVersion: string | null;
  readonly channel: string;
  private readonly keys;
  private readonly clock: Clock;
  private readonly stateFile: StateFile;
  private readonly rollbackToleranceMs: number;
  private readonly hardware: HardwareSource;
  private readonly factNames: readonly string[];
  private readonly authors: readonly string[];
  private readonly trackers: readonly string[];
  private cachedFacts: Record<string, string> | null = null;
  // Calls run one at a time: two overlapping checks must not interleave their state writes.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: LicentiaOptions) {
    const { product } = options;
    if (!product || !/^[a-z0-9-]+$/.test(product) || !/[a-z0-9]/.test(product)) {
      throw new ConfigurationError(`not a product slug: ${JSON.stringify(product)}`);
    }
    if (!options.dataDir) throw new ConfigurationError("a data directory is required");
    this.product = product;
    this.keys = pinKeys(options.publicKey);
    this.dataDir = resolve(options.dataDir);
    this.clock = options.clock ?? systemClock;
    this.appVersion = options.appVersion ?? null;
    this.channel = options.channel ?? "stable";
    this.rollbackToleranceMs = options.rollbackToleranceMs ?? DEFAULT_ROLLBACK_TOLERANCE_MS;
    this.hardware = options.hardware ?? {};
    this.transport = new Transport(options.serverUrl, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.stateFile = new StateFile(this.dataDir);
    this.escrow = new Escrow(this.transport.serverUrl, product, dataPathHash(product, this.dataDir));
    this.queue = new EventQueue(this.dataDir);
    this.values = new Values(this);
    this.factNames = options.facts === true ? FACT_NAMES : options.facts ? [...options.facts] : [];
    this.authors = [...(options.authors ?? [])];
    this.trackers = [...(options.trackers ?? [])];
    collectFacts([], this.authors, this.trackers); // refuse too many free fields now, not at the first check
    for (const name of this.factNames) {
      if (!(FACT_NAMES as readonly string[]).includes(name)) throw new ConfigurationError(`unknown fact ${JSON.stringify(name)}`);
    }
  }

  /** The client facts this app sends (empty unless enabled and not opted out). */
  facts(): Record<string, string> {
    if (this.cachedFacts === null) {
      const enabled = this.factNames.length > 0 || this.authors.length > 0 || this.trackers.length > 0;
      this.cachedFacts =
        !enabled || factsDisabledByEnvironment() || this.stateFile.load().factsOptOut ? {} : collectFacts(this.factNames, this.authors, this.trackers, this.hardware);
    }
    return this.cachedFacts;
  }

  /** The user's choice, kept in the state file: no facts are sent while set. */
  optOutOfFacts(optOut = true): Promise<void> {
    return this.serial(async () => {
      const state = this.stateFile.load();
      state.factsOptOut = optOut;
      this.save(state);
      this.cachedFacts = null;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run.then(undefined, (err: unknown) => {
      // Whatever a file system or a peer throws, the application sees a LicentiaError.
      if (err instanceof LicentiaError) throw err;
      throw new Offline(`licensing failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  // -- public API ---------------------------------------------------------------------

  /** This installation's status: from the server when it answers in time, else the stored document. */
  check(options: { online?: boolean } = {}): Promise<Status> {
    return this.serial(async () => {
      const now = this.clock.now();
      const state = this.stateFile.load();
      if (options.online ?? true) {
        const deadline = Date.now() + this.transport.timeoutMs;
        try {
          const status = await this.deviceCall("/v1/check", state, deadline);
          try {
            await this.afterOnlineCheck(state, now, deadline);
          } catch {
            // Queueing or sending events failed (a full or read-only disk): the verified answer stands.
          }
          return status;
        } catch (err) {
          if (!(err instanceof Offline || err instanceof ServerRefused || err instanceof InvalidDocument)) throw err;
          // The state as kept, not this call's copy: a server that voided the credential and then
          // answered nothing usable must not make the offline check save a state without it.
          return this.checkOffline(this.stateFile.load(), now);
        }
      }
      return this.checkOffline(state, now);
    });
  }

  /** Redeem a license key on this device; a typo throws `InvalidKey` before any network call. */
  activate(key: string): Promise<Status> {
    return this.serial(async () => {
      const now = this.clock.now();
      let normalized: string;
      try {
        normalized = normalizeKey(key);
      } catch (err) {
        // Evidence of a key typed here: only the prefix, never a whole key.
        const typed = String(key).toUpperCase().replace(/[^A-Z0-9]/g, "");
        try {
          this.queue.add(EventKind.REGISTER, now, { key_prefix: keyPrefix(typed), result: "typo" }, this.facts());
        } catch {
          // evidence is best effort; the user must still hear about the typo
        }
        throw err instanceof InvalidKey ? err : new InvalidKey(String(err));
      }
      const state = this.stateFile.load();
      const deadline = Date.now() + this.transport.timeoutMs;
      const status = await this.deviceCall("/v1/activate", state, deadline, { key: normalized });
      await this.flushWith(state, deadline);
      return status;
    });
  }

  /** Free this device's seat on its license (it keeps whatever trial it had left). */
  deactivate(): Promise<Status> {
    return this.serial(async () => {
      const state = this.stateFile.load();
      return this.deviceCall("/v1/deactivate", state, Date.now() + this.transport.timeoutMs);
    });
  }

  /** The newest release on this app's channel (`newer` tells whether it beats `appVersion`), or null. */
  async latestRelease(): Promise<JsonObject | null> {
    const query: Record<string, string> = { product: this.product, channel: this.channel };
    if (this.appVersion) query.current = this.appVersion;
    const answer = await this.transport.request("GET", "/v1/releases/latest", { query });
    return isObject(answer) && answer.version ? answer : null;
  }

  /** Queue feedback from the user and try to send it now; returns its event id. */
  feedback(text: string, email?: string): Promise<string> {
    return this.serial(async () => {
      const id = this.queue.add(EventKind.FEEDBACK, this.clock.now(), email ? { text, email } : { text }, this.facts());
      await this.flushNow();
      return id;
    });
  }

  /**
   * Report that the application is being uninstalled (call it from the uninstaller). The
   * installation's credential stays in its escrow outside the data folder, so installing again on
   * this computer resumes the same installation with its license; `forget: true` removes it too
   * (after the report): a later install is then a new installation, which needs the key again.
   */
  uninstall(options: { forget?: boolean } = {}): Promise<FlushResult> {
    return this.serial(async () => {
      try {
        this.queue.add(EventKind.UNINSTALL, this.clock.now(), { app_version: this.appVersion }, this.facts());
        return await this.flushNow();
      } finally {
        if (options.forget) this.escrow.forget();
      }
    });
  }

  /** Send queued events now, for at most `timeoutMs` (default: the SDK's timeout). */
  flush(timeoutMs?: number): Promise<FlushResult> {
    return this.serial(() => this.flushNow(timeoutMs));
  }

  private async flushNow(timeoutMs?: number): Promise<FlushResult> {
    const state = this.stateFile.load();
    const deadline = Date.now() + (timeoutMs ?? this.transport.timeoutMs);
    if (state.credential === null) {
      try {
        await this.deviceCall("/v1/check", state, deadline);
      } catch (err) {
        if (err instanceof Offline || err instanceof ServerRefused || err instanceof InvalidDocument) {
          return { sent: 0, duplicates: 0, dropped: 0, remaining: this.queue.count() };
        }
        throw err;
      }
    }
    return this.flushWith(state, deadline);
  }

  /** Adopt, once, the installation kept in a previous data folder on this computer into this empty one (`moves.ts`). */
  moveFrom(oldDataDir: string): Promise<Status> {
    const { product, dataDir, stateFile, escrow, transport } = this;
    const exchange = { fingerprint: () => this.fingerprint(), post: this.post.bind(this), accept: this.accept.bind(this) };
    return this.serial(() => moveFrom({ product, dataDir, stateFile, escrow, transport, ...exchange }, oldDataDir));
  }

  /** Read this machine's fingerprint now (what the next check sends and matches). */
  fingerprint(): Fingerprint {
    return takeFingerprint(this.product, this.dataDir, this.hardware);
  }

  /** This device's credential, asking the server for one at first contact. */
  credential(): Promise<readonly [string, string]> {
    return this.serial(async () => {
      const state = this.stateFile.load();
      if (state.credential === null) {
        await this.deviceCall("/v1/check", state, Date.now() + this.transport.timeoutMs);
      }
      if (state.credential === null) throw new Offline("no device credential yet");
      return state.credential;
    });
  }

  // -- online ---------------------------------------------------------------------------

  private body(fingerprint: Fingerprint, state: State, extra: Extra): Extra {
    return {
      product: this.product,
      fingerprint: fingerprint.toRequest(),
      token: state.token,
      app_version: this.appVersion,
      os: `${osType()} ${osRelease()}`.trim(),
      channel: this.channel,
      facts: this.facts(),
      ...extra,
    };
  }

  /**
   * POST a device call, verify and store the answer. Mutates and saves `state`. With no credential
   * in the data folder (uninstalled, or a damaged state), a reinstall resumes its installation from
   * the escrow: its credential and no token, which the server answers as the same installation on
   * this machine. That installation was reported when first installed: no `install` event again.
   */
  private async deviceCall(path: string, state: State, deadline: number, extra: Extra = {}): Promise<Status> {
    const resumed = state.credential === null ? this.escrow.load() : null;
    if (resumed === null) return this.call(path, state, deadline, extra);
    [state.credential, state.token, state.installReported] = [resumed, null, true];
    // The request says so: the server answers a reinstall of this installation (a new token chain).
    return this.call(path, state, deadline, { ...extra, resumed: true });
  }

  private async call(path: string, state: State, deadline: number, extra: Extra): Promise<Status> {
    const fingerprint = this.fingerprint();
    if (path !== "/v1/check" && state.credential === null) await this.call("/v1/check", state, deadline, {});
    let answer: JsonValue;
    let asked: Asked;
    try {
      [answer, asked] = await this.post(path, fingerprint, state, deadline, extra);
    } catch (err) {
      if (!(err instanceof ServerRefused) || err.code !== ErrorCode.INVALID_CREDENTIAL || state.credential === null) throw err;
      // The secret is void (re-identified elsewhere, or the state restored from an old
      // copy, or an escrowed one): drop it, let the fingerprint re-identify this device, and try once more.
      state.credential = null;
      if (path !== "/v1/check") await this.call("/v1/check", state, deadline, {});
      [answer, asked] = await this.post(path, fingerprint, state, deadline, extra);
    }
    return this.accept(path, answer, asked, state, fingerprint);
  }

  /** POST with a fresh nonce: the answer, and what this request asked (to bind the answer to it). */
  private async post(path: string, fingerprint: Fingerprint, state: State, deadline: number, extra: Extra = {}): Promise<[JsonValue, Asked]> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Offline("no time left before the timeout");
    const asked = Asked.by(state);
    const body = this.body(fingerprint, state, { ...extra, nonce: asked.nonce });
    const answer = await this.transport.request("POST", path, { body, credential: state.credential, timeoutMs: remaining });
    return [answer, asked];
  }

  /**
   * Verify the server's answer, and that it answers this request, before anything of it is stored.
   * A genuine answer of another time, another request or another installation (a fake server
   * replaying what it saved) is refused like a bad signature: `InvalidDocument`, naming the rule.
   */
  private accept(path: string, answer: JsonValue, asked: Asked, state: State, fingerprint: Fingerprint): Status {
    const received = this.clock.now();
    const verdict = judgeAnswer(answer, asked, this.keys, this.product, fingerprint, received);
    if (!verdict.accepted) throw new InvalidDocument(verdict.message);
    const issued = verdict.credential;
    if (issued !== null) {
      // A new credential (first contact, or re-identified: the old secret is void) is escrowed
      // outside the data folder too, so that a reinstall resumes this installation.
      const kept = state.credential;
      if (kept === null || kept[0] !== issued[0] || kept[1] !== issued[1]) this.escrow.save(issued);
      state.credential = [...issued];
    }
    if (verdict.token !== null) state.token = verdict.token; // null: "suspected copy", keep ours
    state.signed = verdict.signed;
    // The answer is fresh (it carries this request's nonce): its time is the server's now. Offline,
    // the status is judged at the local clock plus this offset, and rollback on local times only,
    // so a clock constantly off works offline too, and one put right is not locked out once online.
    state.clockOffset = verdict.clockOffset;
    state.lastSeen = toIso(received);
    try {
      this.save(state);
    } catch (err) {
      // A check still answers from what it verified; activation and deactivation must say the copy was not kept.
      if (path !== "/v1/check") throw err;
    }
    // Judged at the server's time: a wrong local clock does not change what the server said.
    return verdict.status;
  }

  private save(state: State): void {
    try {
      this.stateFile.save(state);
    } catch (err) {
      throw new ConfigurationError(`cannot write the data directory ${this.dataDir}: ${(err as Error).message}`);
    }
  }

  private async afterOnlineCheck(state: State, now: number, deadline: number): Promise<void> {
    const payload = isObject(state.signed) && isObject(state.signed.document) ? state.signed.document : {};
    let changed = false;
    if (!state.installReported) {
      this.queue.add(EventKind.INSTALL, now, { app_version: this.appVersion }, this.facts());
      state.installReported = changed = true;
    }
    if (payload.status === DeviceStatus.REGISTERED) {
      const days = typeof payload.usage_report_days === "number" && payload.usage_report_days > 0 ? payload.usage_report_days : 1;
      const last = parseIsoOr(state.lastUsageReport, null);
      if (last === null || now - last >= days * 86_400_000 || now < last) {
        this.queue.add(EventKind.USAGE, now, { app_version: this.appVersion }, this.facts());
        state.lastUsageReport = toIso(now);
        changed = true;
      }
    }
    if (changed) this.save(state);
    await this.flushWith(state, deadline);
  }

  private async flushWith(state: State, deadline: number): Promise<FlushResult> {
    try {
      return await this.queue.flush(this.transport, state.credential, deadline);
    } catch (err) {
      if (err instanceof ServerRefused) return { sent: 0, duplicates: 0, dropped: 0, remaining: this.queue.count() };
      throw err;
    }
  }

  // -- offline --------------------------------------------------------------------------

  private checkOffline(state: State, now: number): Status {
    if (state.signed === null) return denied(state.corrupt ? "corrupt_state" : "no_document");
    const lastSeen = parseIsoOr(state.lastSeen, null);
    // The hardware is read afresh on every check: a cached fingerprint would let a copied state lend it.
    const status = decideOffline({
      signed: state.signed,
      keys: this.keys,
      product: this.product,
      fingerprint: this.fingerprint(),
      now,
      lastSeen,
      offsetSeconds: state.clockOffset,
      rollbackToleranceMs: this.rollbackToleranceMs,
    });
    if (status.reason !== "clock_rollback" && status.reason !== "invalid_document" && (lastSeen === null || now - lastSeen > LAST_SEEN_STEP_MS)) {
      state.lastSeen = toIso(now);
      try {
        this.stateFile.save(state);
      } catch {
        // A read-only data dir must not stop the app; rollback detection is weaker then.
      }
    }
    return status;
  }
}
