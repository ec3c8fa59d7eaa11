/** `Licentia`: the object an application creates once and asks `check()`. */

import { release as osRelease, type as osType } from "node:os";

import { Asked, judgeAnswer } from "./answers";
import { Escrow } from "./escrow";
import { checkFactChoice, collectFacts, FACT_NAMES, factsDisabledByEnvironment } from "./facts";
import { ConfigurationError, InvalidAnswer, InvalidKey, LicentiaError, Offline, ServerRefused, type Consumption } from "./errors";
import { Fingerprint, fingerprintOf, hardwareOnce } from "./fingerprint";
import type { HardwareSource, RawHardware } from "./hardware";
import { isObject, type JsonValue } from "./json";
import { checkout, type Lease } from "./leases";
import { consume } from "./meters";
import { moveFrom } from "./moves";
import { absolutePath } from "./paths";
import { installResponse, writeProof, writeRequest } from "./offline";
import { EventQueue, type FlushResult } from "./queue";
import { releaseOf, type Release } from "./releases";
import { dataPathHash, keyPrefix, normalizeKey } from "./rules";
import { pinKeys, type PinnedKeys } from "./signing";
import { StateFile, type State } from "./state";
import { installerTicketField } from "./tickets";
import { decideOffline, DEFAULT_ROLLBACK_TOLERANCE_MS, denied, Status } from "./status";
import { parseIsoOr, systemClock, toIso, type Clock } from "./time";
import { usageDue } from "./trail";
import { Transport } from "./transport";
import { beginSignIn, finishSignIn, type SignInCode } from "./signin";
import { Values } from "./values";
import { CLIENT_VERSION, PROTOCOL_VERSION } from "./version";
import { DeviceStatus, ErrorCode, EventKind } from "./vocabulary";
import { latestWitness, seenAfter, settleWitnesses, witnessPaths } from "./witnesses";

export const DEFAULT_TIMEOUT_MS = 3000;

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
  /**
   * The path of the download's installer ticket (`licentia-ticket.json` beside the program): its
   * text is sent with the first check only, when this installation has no credential yet. A
   * missing file is no ticket; a damaged one is not sent (a process warning says why).
   */
  installerTicket?: string | null;
}

type Extra = Record<string, unknown>;

/**
 * Licensing for one product inside one application. Nothing signed by any
 * key but the pinned ones (or keys they endorsed) is ever trusted, and every
 * method throws only `LicentiaError`s.
 */
export class Licentia {
  /** This client's version (`@licentia/client`'s), sent on every request. */
  static readonly version = CLIENT_VERSION;
  /** The public API's protocol this client speaks, sent on every request. */
  static readonly protocolVersion = PROTOCOL_VERSION;
  readonly product: string;
  readonly dataDir: string;
  readonly transport: Transport;
  readonly queue: EventQueue;
  readonly values: Values;
  /** This installation's credential kept outside the data folder, for a reinstall (`escrow.ts`). */
  readonly escrow: Escrow;
  readonly appVersion: string | null;
  readonly channel: string;
  /** The installer ticket's path, sent at first contact (`tickets.ts`), or null. */
  readonly installerTicket: string | null;
  /** @internal The pinned keys (leases, air-gapped files). */
  readonly keys: PinnedKeys;
  /** @internal */
  readonly clock: Clock;
  /** @internal */
  readonly stateFile: StateFile;
  /** @internal */
  readonly rollbackToleranceMs: number;
  private readonly hardware: HardwareSource | undefined;
  private readonly hardwareReads = new Map<string, Promise<RawHardware>>();
  private readonly factNames: readonly string[];
  private readonly authors: readonly string[];
  private readonly trackers: readonly string[];
  private cachedFacts: Promise<Record<string, string>> | null = null;
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
    // The text Python's pathlib makes of it (`paths.ts`): its hash tells installations apart.
    this.dataDir = absolutePath(options.dataDir);
    this.clock = options.clock ?? systemClock;
    this.appVersion = options.appVersion ?? null;
    this.channel = options.channel ?? "stable";
    this.installerTicket = options.installerTicket || null;
    this.rollbackToleranceMs = options.rollbackToleranceMs ?? DEFAULT_ROLLBACK_TOLERANCE_MS;
    this.hardware = options.hardware;
    this.transport = new Transport(options.serverUrl, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.stateFile = new StateFile(this.dataDir);
    this.escrow = new Escrow(this.transport.serverUrl, product, dataPathHash(product, this.dataDir));
    this.queue = new EventQueue(this.dataDir);
    this.values = new Values(this);
    this.factNames = options.facts === true ? FACT_NAMES : options.facts ? [...options.facts] : [];
    this.authors = [...(options.authors ?? [])];
    this.trackers = [...(options.trackers ?? [])];
    checkFactChoice(this.factNames, this.authors, this.trackers); // refused now, not at the first check
  }

  /** The client facts this app sends (empty unless enabled and not opted out); read once. */
  facts(): Promise<Record<string, string>> {
    if (this.cachedFacts === null) {
      const enabled = this.factNames.length > 0 || this.authors.length > 0 || this.trackers.length > 0;
      this.cachedFacts =
        !enabled || factsDisabledByEnvironment() || this.stateFile.load().factsOptOut
          ? Promise.resolve({})
          : collectFacts(this.factNames, this.authors, this.trackers, this.hardware ?? {}).catch(() => ({}));
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

  /**
   * This installation's status: from the server when it answers in time, else the stored document.
   * Never rejects: whatever the network, the files or the hardware readers do, it answers a status
   * (nothing granted but what a verified document says; `reason` `check_failed` when even the
   * offline decision could not be made).
   */
  check(options: { online?: boolean } = {}): Promise<Status> {
    const checked = this.serial(async () => {
      const now = this.clock.now();
      if (options.online ?? true) {
        const deadline = Date.now() + this.transport.timeoutMs;
        try {
          const state = this.stateFile.load();
          const status = await this.deviceCall("/v1/check", state, deadline);
          try {
            await this.afterOnlineCheck(state, now, deadline);
          } catch {
            // Queueing or sending events failed (a full or read-only disk): the verified answer stands.
          }
          return status;
        } catch {
          // Unreachable, refused, an answer that is not this request's, or a fault of the readers or
          // the files: decide on the state as kept, not this call's copy (a server that voided the
          // credential and then answered nothing usable must not make the offline check save a state without it).
        }
      }
      return this.checkOffline(this.stateFile.load(), now);
    });
    return checked.catch(() => denied("check_failed"));
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
          this.queue.add(EventKind.REGISTER, now, { key_prefix: keyPrefix(typed), result: "typo" }, await this.facts());
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

  /**
   * The newest release on this app's channel (`newer` tells whether it beats `appVersion`), or null.
   * The answer is not signed: only its known fields reach the application, and a download URL only
   * when it is `https:` (an application may hand it to the system's browser).
   */
  async latestRelease(): Promise<Release | null> {
    const query: Record<string, string> = { product: this.product, channel: this.channel };
    if (this.appVersion) query.current = this.appVersion;
    return releaseOf(await this.transport.request("GET", "/v1/releases/latest", { query }));
  }

  /** A floating seat for this machine, kept by heartbeats on a timer that never keeps Node alive (`leases.ts`). */
  checkout(key: string, options: { borrowDays?: number; heartbeats?: boolean } = {}): Promise<Lease> {
    return guarded(checkout(this, key, options));
  }

  /** Count `amount` of `meter` on the server, once even when retried; past the limit: `QuotaExceeded` (`meters.ts`). */
  consume(meter: string, amount = 1, options: { idempotencyKey?: string } = {}): Promise<Consumption> {
    return guarded(consume(this, meter, amount, options.idempotencyKey));
  }

  /**
   * Start signing this installation's user in (a license whose seats are users): the code to show
   * them. Show `code.userCode` and `code.verificationUri` (or open `code.verificationUriComplete`),
   * then call `finishSignIn` (`signin.ts`).
   */
  beginSignIn(): Promise<SignInCode> {
    return guarded(beginSignIn(this));
  }

  /**
   * Wait for the person to confirm `code`, polling every `code.interval` seconds: the verified
   * status, whose `user` names them. `ServerRefused` `access_denied` or `expired_token`; `Offline`
   * once `timeoutMs` passed (by default the code's lifetime).
   */
  finishSignIn(code: SignInCode, options: { timeoutMs?: number } = {}): Promise<Status> {
    return guarded(finishSignIn((deviceCode) => this.pollSignIn(deviceCode), code, options.timeoutMs));
  }

  /** Both steps: `show(code)` tells the person where to confirm it, then wait for them (`status.user`). */
  async signIn(show: (code: SignInCode) => void | Promise<void>, options: { timeoutMs?: number } = {}): Promise<Status> {
    const code = await this.beginSignIn();
    await show(code);
    return this.finishSignIn(code, options);
  }

  /** One poll of `/v1/device/token`: answered as a check is (a signed status bound to this poll's nonce), stored the same way. */
  private pollSignIn(deviceCode: string): Promise<Status> {
    return this.serial(async () => {
      const state = this.stateFile.load();
      return this.deviceCall("/v1/device/token", state, Date.now() + this.transport.timeoutMs, { device_code: deviceCode });
    });
  }

  /** Air-gapped step 1: the text of an activation request for license `key`, to carry to the vendor (`offline.ts`). */
  activationRequest(key: string): Promise<string> {
    return this.serial(() => writeRequest(this, key));
  }

  /** Air-gapped step 3: install the vendor's response to one of this installation's requests (else `InvalidAnswer`). */
  installActivation(response: string | Uint8Array): Promise<Status> {
    return this.serial(() => installResponse(this, response));
  }

  /** End the air-gapped activation here; the proof the vendor uploads to free the seat. */
  deactivateOffline(): Promise<string> {
    return this.serial(() => writeProof(this));
  }

  /** Queue feedback from the user and try to send it now; returns its event id. */
  feedback(text: string, email?: string): Promise<string> {
    return this.serial(async () => {
      const id = this.queue.add(EventKind.FEEDBACK, this.clock.now(), email ? { text, email } : { text }, await this.facts());
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
        this.queue.add(EventKind.UNINSTALL, this.clock.now(), { app_version: this.appVersion }, await this.facts());
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
        if (err instanceof Offline || err instanceof ServerRefused) {
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

  /**
   * This machine's fingerprint (what a check sends and matches). The hardware is read once,
   * asynchronously, and kept in memory: a second check never waits on the readers.
   */
  async fingerprint(): Promise<Fingerprint> {
    return fingerprintOf(this.product, this.dataDir, await hardwareOnce(this.dataDir, this.hardware, this.hardwareReads));
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

  private async body(fingerprint: Fingerprint, state: State, extra: Extra): Promise<Extra> {
    return {
      product: this.product,
      fingerprint: fingerprint.toRequest(),
      token: state.token,
      app_version: this.appVersion,
      os: `${osType()} ${osRelease()}`.trim(),
      channel: this.channel,
      facts: await this.facts(),
      ...(state.credential === null ? installerTicketField(this.installerTicket) : {}),
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
    [state.credential, state.token, state.installReported, state.escrowed] = [resumed, null, true, true];
    // The request says so: the server answers a reinstall of this installation (a new token chain).
    return this.call(path, state, deadline, { ...extra, resumed: true });
  }

  private async call(path: string, state: State, deadline: number, extra: Extra): Promise<Status> {
    const fingerprint = await this.fingerprint();
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
    const body = await this.body(fingerprint, state, { ...extra, nonce: asked.nonce });
    const answer = await this.transport.request("POST", path, { body, credential: state.credential, timeoutMs: remaining });
    return [answer, asked];
  }

  /**
   * Verify the server's answer, and that it answers this request, before anything of it is stored.
   * A genuine answer of another time, another request or another installation (a fake server
   * replaying what it saved) is refused like a bad signature: `InvalidAnswer`, naming the rule.
   */
  private async accept(path: string, answer: JsonValue, asked: Asked, state: State, fingerprint: Fingerprint): Promise<Status> {
    const received = this.clock.now();
    const verdict = judgeAnswer(answer, asked, this.keys, this.product, fingerprint, received);
    if (!verdict.accepted) throw new InvalidAnswer(verdict.message);
    const issued = verdict.credential;
    const kept = state.credential;
    if (issued !== null && (kept === null || kept[0] !== issued[0] || kept[1] !== issued[1])) {
      state.credential = [...issued]; // a re-identified device's old secret is void
      state.escrowed = false;
    }
    if (state.credential !== null && !state.escrowed) {
      // Escrowed outside the data folder too, so that a reinstall resumes this installation: a new
      // credential, and once the credential of an installation made before the escrow existed.
      this.escrow.save(state.credential);
      state.escrowed = true; // tried once: a store that cannot be written is not retried at every check
    }
    if (verdict.token !== null) state.token = verdict.token; // null: "suspected copy", keep ours
    state.signed = verdict.signed;
    // The answer is fresh (it carries this request's nonce): its time is the server's now. Offline,
    // the status is judged at the local clock plus this offset, and rollback on local times only,
    // so a clock constantly off works offline too, and one put right is not locked out once online.
    state.clockOffset = verdict.clockOffset;
    state.lastSeen = toIso(received);
    let status = verdict.status; // judged at the server's time: a wrong local clock does not change what the server said
    try {
      this.save(state);
    } catch (err) {
      // A check still answers from what it verified (flagged: the next run goes online again);
      // activation and deactivation must say the copy was not kept.
      if (path !== "/v1/check") throw err;
      status = status.asUnsaved();
    }
    // A clock that once ran far ahead left witnesses in the future: this bound answer puts them right.
    await settleWitnesses(witnessPaths(this.dataDir), received, this.rollbackToleranceMs, state.fileClockSkew);
    return status;
  }

  /** @internal Save the state, measuring the file system's clock against the local one. */
  save(state: State): void {
    try {
      this.stateFile.save(state, this.clock.now());
    } catch (err) {
      throw new ConfigurationError(`cannot write the data directory ${this.dataDir}: ${(err as Error).message}`);
    }
  }

  private async afterOnlineCheck(state: State, now: number, deadline: number): Promise<void> {
    const payload = isObject(state.signed) && isObject(state.signed.document) ? state.signed.document : {};
    let changed = false;
    if (!state.installReported) {
      this.queue.add(EventKind.INSTALL, now, { app_version: this.appVersion }, await this.facts());
      state.installReported = changed = true;
    }
    if (payload.status === DeviceStatus.REGISTERED && usageDue(payload, state.lastUsageReport, now)) {
      this.queue.add(EventKind.USAGE, now, { app_version: this.appVersion }, await this.facts());
      state.lastUsageReport = toIso(now);
      changed = true;
    }
    if (changed) this.save(state);
    await this.flushWith(state, deadline);
  }

  private async flushWith(state: State, deadline: number): Promise<FlushResult> {
    try {
      // The vendor's proxy-log trail (trail.ts), as the last signed document asks.
      const document = isObject(state.signed) && isObject(state.signed.document) ? state.signed.document : {};
      const trail = document.proxy_trail === true ? this.product : null;
      return await this.queue.flush(this.transport, state.credential, deadline, undefined, undefined, trail);
    } catch (err) {
      if (err instanceof ServerRefused) return { sent: 0, duplicates: 0, dropped: 0, remaining: this.queue.count() };
      throw err;
    }
  }

  // -- offline --------------------------------------------------------------------------

  /** @internal The latest local time this installation is known to have seen: the sealed `last_seen` and the file times (`witnesses.ts`). */
  latestSeen(state: State): Promise<number | null> {
    return latestWitness(parseIsoOr(state.lastSeen, null), witnessPaths(this.dataDir), state.fileClockSkew);
  }

  private async checkOffline(state: State, now: number): Promise<Status> {
    if (state.signed === null) return denied(state.corrupt ? "corrupt_state" : "no_document");
    const lastSeen = parseIsoOr(state.lastSeen, null);
    // The hardware is read from this machine (never from the data folder: a copied state must not lend it).
    const status = decideOffline({
      signed: state.signed,
      keys: this.keys,
      product: this.product,
      fingerprint: await this.fingerprint(),
      now,
      lastSeen: await this.latestSeen(state),
      offsetSeconds: state.clockOffset,
      rollbackToleranceMs: this.rollbackToleranceMs,
    });
    const after = seenAfter(lastSeen, now, null, this.rollbackToleranceMs);
    if (status.reason !== "clock_rollback" && status.reason !== "invalid_document" && after.lastSeen !== lastSeen && after.lastSeen !== null) {
      state.lastSeen = toIso(after.lastSeen);
      try {
        this.stateFile.save(state, now);
      } catch {
        // A read-only data dir must not stop the app; rollback detection is weaker then.
      }
    }
    return status;
  }
}

/** A call's rejection as one of the SDK's errors (whatever a file system, a socket or a fake throws). */
function guarded<T>(work: Promise<T>): Promise<T> {
  return work.then(undefined, (err: unknown) => {
    if (err instanceof LicentiaError) throw err;
    throw new Offline(`licensing failed: ${err instanceof Error ? err.message : String(err)}`);
  });
}
