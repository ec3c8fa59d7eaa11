/** The TypeScript SDK against a real `licentia serve` (SQLite in a temporary data dir). */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { ConfigurationError, InvalidAnswer, InvalidKey, Licentia, Offline, QuotaExceeded, ServerRefused, type LicentiaOptions } from "../src";
import { stateMac } from "../src/state";
import { FakeMachine, LiveServer, ManualClock, RecordingProxy, ownUserConfig, tempDir } from "./support";

const DAY = 86_400_000;

describe("against a real server", () => {
  ownUserConfig();
  const server = new LiveServer();
  const scratch = tempDir("apps");
  let n = 0;

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
  });

  // A computer of its own: the server matches machines K of N, so two fake machines sharing
  // the disk serial and the network card would be one machine (one trial, one hardware record).
  function machineAt(root: string): FakeMachine {
    const id = randomBytes(4);
    const mac = ["3c", "52", ...[...id].map((b) => b.toString(16).padStart(2, "0"))].join(":");
    return new FakeMachine(root, { disk: `SN${id.toString("hex").toUpperCase()}`, mac });
  }

  function app(extra: Partial<LicentiaOptions> & { machine?: FakeMachine } = {}): Licentia {
    n += 1;
    const machine = extra.machine ?? machineAt(join(scratch, `machine-${n}`));
    return new Licentia({
      serverUrl: server.url,
      product: "my-app",
      publicKey: server.publicKey(),
      dataDir: join(scratch, `data-${n}`),
      hardware: { root: machine.root },
      appVersion: "1.4.0",
      ...extra,
    });
  }

  function issueKey(...extra: string[]): string {
    return server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", ...extra);
  }

  it("a first check starts a trial, stores a sealed 0600 state and reports the install", async () => {
    const lic = app();
    const status = await lic.check();
    assert.equal(status.allowed, true);
    assert.equal(status.state, "trial");
    assert.equal(status.online, true);
    assert.ok(status.device?.startsWith("dv_") || status.device);
    const statePath = join(lic.dataDir, "state.json");
    assert.equal(statSync(statePath).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(statePath, "utf8"));
    assert.equal(saved.format, 2);
    assert.match(saved.mac, /^[0-9a-f]{64}$/);
    assert.equal(saved.device, status.device);
    assert.equal(lic.queue.count(), 0, "the install event was sent and acknowledged");
    // The same installation next time: the credential is presented, the device is the same,
    // and the server's rotating token (copy tracking) replaces the stored one.
    const token = (): string => JSON.parse(JSON.parse(readFileSync(statePath, "utf8")).state).token;
    const first = token();
    const again = await lic.check();
    assert.equal(again.device, status.device);
    assert.ok(first && token() && token() !== first, "the token rotated");
  });

  it("offline, the stored document grants what it says, on the hardware of the process that checks", async () => {
    const machine = machineAt(join(scratch, "offline-machine"));
    const lic = app({ machine });
    const online = await lic.check();
    const offline = await lic.check({ online: false });
    assert.deepEqual([offline.allowed, offline.state, offline.online, offline.device], [true, "trial", false, online.device]);
    // The hardware is read once per process (a new Licentia stands for the next start here):
    // one replaced part is the same machine; a second one is not.
    const nextStart = (): Licentia => app({ machine, dataDir: lic.dataDir });
    machine.write("sys/block/sda/device/serial", "NEWDISK1");
    assert.equal((await lic.check({ online: false })).allowed, true);
    assert.equal((await nextStart().check({ online: false })).allowed, true);
    machine.write("etc/machine-id", "0123456789abcdef0123456789abcdef");
    const moved = await nextStart().check({ online: false });
    assert.deepEqual([moved.allowed, moved.reason], [false, "invalid_document"]);
  });

  it("a server that cannot be reached falls back to the stored document", async () => {
    const machine = machineAt(join(scratch, "fallback-machine"));
    const first = app({ machine });
    await first.check();
    const unreachable = new Licentia({
      serverUrl: "http://127.0.0.1:9",
      product: "my-app",
      publicKey: server.publicKey(),
      dataDir: first.dataDir,
      hardware: { root: machine.root },
      timeoutMs: 500,
    });
    const status = await unreachable.check();
    assert.deepEqual([status.allowed, status.state, status.online], [true, "trial", false]);
  });

  it("a data directory that cannot be written still gets the verified answer of a check", async () => {
    const blocker = join(scratch, "not-a-directory");
    writeFileSync(blocker, "a file where the data directory's parent should be");
    const lic = app({ dataDir: join(blocker, "data") });
    const status = await lic.check();
    assert.deepEqual([status.allowed, status.online, status.unsaved], [true, true, true], "verified, and flagged as not kept");
    await assert.rejects(lic.deactivate(), ConfigurationError);
    const kept = await app().check();
    assert.equal(kept.unsaved, false);
  });

  it("an edited state file grants nothing offline", async () => {
    const lic = app();
    await lic.check();
    const statePath = join(lic.dataDir, "state.json");
    const saved = JSON.parse(readFileSync(statePath, "utf8"));
    saved.state = saved.state.replace(/"last_seen":"[^"]*"/, '"last_seen":"2020-01-01T00:00:00Z"');
    writeFileSync(statePath, JSON.stringify(saved));
    const status = await lic.check({ online: false });
    assert.deepEqual([status.allowed, status.reason], [false, "corrupt_state"]);
    writeFileSync(statePath, "{not json");
    assert.equal((await lic.check({ online: false })).reason, "corrupt_state");
  });

  it("a state copied into another data directory does not unlock it", async () => {
    const machine = machineAt(join(scratch, "copy-machine"));
    const lic = app({ machine });
    await lic.check();
    const copyDir = join(scratch, "copied-data");
    cpSync(lic.dataDir, copyDir, { recursive: true });
    const copy = new Licentia({ serverUrl: "http://127.0.0.1:9", product: "my-app", publicKey: server.publicKey(), dataDir: copyDir, hardware: { root: machine.root }, timeoutMs: 300 });
    const status = await copy.check();
    assert.deepEqual([status.allowed, status.reason], [false, "invalid_document"]);
  });

  it("a clock wound back is noticed offline", async () => {
    const clock = new ManualClock();
    const lic = app({ clock });
    await lic.check();
    clock.advance(3 * DAY);
    assert.equal((await lic.check({ online: false })).allowed, true);
    clock.advance(-DAY);
    const status = await lic.check({ online: false });
    assert.deepEqual([status.allowed, status.state], [false, "clock_rollback"]);
  });

  it("a clock once far ahead and put right is let in by its next online check (the witnesses are put right)", async () => {
    const lic = app();
    await lic.check();
    // What a clock 40 days ahead (a dead battery, then NTP) left behind: the event queue's folder
    // written in the future.
    const ahead = (Date.now() + 40 * DAY) / 1000;
    mkdirSync(join(lic.dataDir, "events"), { recursive: true });
    utimesSync(join(lic.dataDir, "events"), ahead, ahead);
    const locked = await lic.check({ online: false });
    assert.deepEqual([locked.allowed, locked.reason], [false, "clock_rollback"]);
    assert.equal((await lic.check()).online, true);
    assert.ok(statSync(join(lic.dataDir, "events")).mtimeMs < Date.now() + 60_000, "the file time was brought back");
    assert.equal((await lic.check({ online: false })).allowed, true);
  });

  it("a re-sealed earlier last_seen is still caught by the file times", async () => {
    const clock = new ManualClock();
    const lic = app({ clock });
    await lic.check();
    clock.advance(3 * DAY);
    assert.equal((await lic.check({ online: false })).allowed, true); // writes the time seen, and the file's time
    // Someone who read the secret re-seals an earlier time seen and winds the clock back.
    const statePath = join(lic.dataDir, "state.json");
    const outer = JSON.parse(readFileSync(statePath, "utf8"));
    const fields = JSON.parse(outer.state);
    const body = JSON.stringify({ ...fields, last_seen: new Date(clock.now() - 3 * DAY).toISOString().replace(/\.\d{3}Z$/, "Z") });
    writeFileSync(statePath, JSON.stringify({ ...outer, state: body, mac: stateMac(outer.device, outer.secret, body) }));
    utimesSync(statePath, new Date(), new Date()); // the file's time stays what the file system says
    clock.advance(-3 * DAY + 60_000);
    const rolled = await lic.check({ online: false });
    assert.deepEqual([rolled.allowed, rolled.reason], [false, "clock_rollback"]);
  });

  it("activation registers the device with its features; deactivation frees the seat", async () => {
    const lic = app();
    const key = issueKey("--feature", "pro");
    const status = await lic.activate(key.toLowerCase());
    assert.deepEqual([status.allowed, status.state, status.hasFeature("pro")], [true, "registered", true]);
    const offline = await lic.check({ online: false });
    assert.deepEqual([offline.state, offline.hasFeature("pro")], ["registered", true]);
    const freed = await lic.deactivate();
    assert.notEqual(freed.state, "registered");
  });

  it("check, activate and deactivate send a fresh nonce and take only the answer that carries it back", async () => {
    const proxy = await new RecordingProxy(server.url).start();
    try {
      const lic = app({ serverUrl: proxy.url });
      const statuses = [await lic.check(), await lic.activate(issueKey()), await lic.deactivate()];
      assert.deepEqual(statuses.map((s) => [s.online, s.state]), [[true, "trial"], [true, "registered"], [true, "trial"]]);
      const calls = proxy.exchanges.filter((e) => /^\/v1\/(check|activate|deactivate)$/.test(e.path));
      assert.deepEqual(calls.map((e) => e.path), ["/v1/check", "/v1/activate", "/v1/deactivate"]);
      for (const call of calls) {
        assert.match(call.request.nonce, /^[A-Za-z0-9_-]{22}$/, "16 random bytes, unpadded base64url");
        assert.equal(call.answer.signed.document.nonce, call.request.nonce, "the server signed this request's nonce back");
      }
      assert.equal(new Set(calls.map((e) => e.request.nonce)).size, 3, "a fresh nonce for every call");
      const kept = JSON.parse(JSON.parse(readFileSync(join(lic.dataDir, "state.json"), "utf8")).state);
      assert.equal(kept.signed.document.nonce, calls[2]?.request.nonce);
      assert.ok(Number.isInteger(kept.clock_offset) && Math.abs(kept.clock_offset) <= 2, "the server's clock is this one");
    } finally {
      await proxy.stop();
    }
  });

  it("a typo in a key is caught before any network call and leaves evidence in the queue", async () => {
    const lic = new Licentia({ serverUrl: "http://127.0.0.1:9", product: "my-app", publicKey: server.publicKey(), dataDir: join(scratch, "typo"), timeoutMs: 300 });
    const key = issueKey();
    const typo = key.slice(0, 3) + (key[3] === "A" ? "B" : "A") + key.slice(4);
    await assert.rejects(lic.activate(typo), InvalidKey);
    const [event] = lic.queue.pending();
    assert.equal(event?.event.kind, "register");
    assert.deepEqual(event?.event.data, { key_prefix: typo.replace(/-/g, "").slice(0, 5), result: "typo" });
    const file = join(lic.queue.dir, event?.file ?? "");
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it("an unknown key is refused by the server with its code", async () => {
    const lic = app();
    const body = "ABCDEFGHJKLMNPQRSTUVWXYZ2";
    // A well-formed key nobody issued: find its check character by trying the alphabet.
    const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const { normalizeKey } = await import("../src");
    const key = [...alphabet].map((c) => body.slice(0, 24) + c).find((k) => {
      try {
        normalizeKey(k);
        return true;
      } catch {
        return false;
      }
    }) as string;
    await assert.rejects(lic.activate(key), (err: unknown) => err instanceof ServerRefused && err.code === "invalid_key");
  });

  it("values, feedback and releases, with client facts the server accepts", async () => {
    const lic = app({ facts: true, authors: ["Ada Lovelace"], trackers: ["campaign-7"] });
    await lic.check();
    assert.equal(await lic.values.get("theme", "none"), "none");
    await lic.values.set("theme", { dark: true });
    assert.deepEqual({ ...(await lic.values.get("theme")) as object }, { dark: true });
    const id = await lic.feedback("Love it", "me@example.com");
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(lic.queue.count(), 0);
    assert.equal(await lic.latestRelease(), null);
    const result = await lic.uninstall();
    assert.deepEqual([result.sent, result.remaining], [1, 0]);
  });

  it("events survive an unreachable server and are sent once it answers", async () => {
    const lic = app();
    await lic.check();
    const offline = new Licentia({ serverUrl: "http://127.0.0.1:9", product: "my-app", publicKey: server.publicKey(), dataDir: lic.dataDir, timeoutMs: 300 });
    const result = await offline.uninstall();
    assert.deepEqual([result.sent, result.remaining], [0, 1]);
    const sent = await lic.flush();
    assert.deepEqual([sent.sent, sent.remaining], [1, 0]);
  });

  it("after a key rotation, an app that pinned the old key trusts the new documents", async () => {
    const lic = app();
    const oldKey = server.publicKey();
    await lic.check();
    const newKid = /new signing key (\w+)/.exec(server.cli("keys", "rotate", "--product", "my-app"))?.[1];
    assert.ok(newKid && !oldKey.includes(newKid));
    const status = await lic.check();
    assert.deepEqual([status.allowed, status.online], [true, true]);
    const saved = JSON.parse(readFileSync(join(lic.dataDir, "state.json"), "utf8"));
    const signed = JSON.parse(saved.state).signed;
    assert.equal(signed.kid, newKid, "signed by the new key, trusted through its endorsement");
    assert.equal((await lic.check({ online: false })).allowed, true);
  });

  // -- typed entitlements and the licensee -------------------------------------------------

  function policyKey(name: string, email: string, ...knobs: string[]): string {
    server.cli("policy", "create", "my-app", name, ...knobs.flatMap((k) => ["--set", k]));
    return issueKey("--policy", name, "--email", email);
  }

  it("a license type's typed entitlements and the licensee reach the application, online and offline", async () => {
    const entitlements = JSON.stringify({ export_pdf: true, max_projects: 100, edition: "pro" });
    server.cli("policy", "create", "my-app", "Pro", "--set", `entitlements=${entitlements}`);
    const key = server.cli("license", "issue", "--product", "my-app", "--email", "cto@acme.example", "--name", "Acme GmbH", "--policy", "Pro");
    const lic = app();
    const trial = await lic.check();
    assert.equal(trial.customer, null, "a trial has no licensee yet");
    const status = await lic.activate(key);
    assert.deepEqual([status.entitlement("max_projects"), status.entitlement("edition"), status.entitlement("export_pdf")], [100, "pro", true]);
    assert.equal(status.entitlement("missing", 3), 3);
    assert.equal(status.hasFeature("export_pdf"), true);
    assert.equal(status.customer?.name, "Acme GmbH");
    assert.ok(Number.isSafeInteger(status.customer?.id));
    const offline = await lic.check({ online: false });
    assert.deepEqual([offline.allowed, offline.entitlement("max_projects"), offline.customer], [true, 100, status.customer]);
    assert.deepEqual(offline.maintenance, { until: null, newerRelease: null }, "a license without maintenance terms: every release");
    assert.equal(trial.maintenance, null, "a trial is offered every release");
  });

  // -- floating leases ------------------------------------------------------------------

  function floatingKey(seats: number, borrowDays = 0): string {
    n += 1;
    return policyKey(`Floating ${n}`, "team@example.com", "kind=floating", `max_devices=${seats}`, "floating_lease_seconds=60", `borrow_days=${borrowDays}`);
  }

  it("a floating seat is checked out, kept by heartbeats, held against a second machine and returned", async () => {
    const key = floatingKey(1);
    const lic = app();
    const lease = await lic.checkout(key, { heartbeats: false });
    assert.deepEqual([lease.state, lease.valid, lease.borrowed, lease.online], ["active", true, false, true]);
    assert.match(lease.id, /^ls_[0-9a-f]{24}$/);
    assert.ok(lease.heartbeatSeconds > 0 && lease.heartbeatSeconds <= 30, `${lease.heartbeatSeconds} s between heartbeats`);
    const end = lease.expiresAt.getTime();
    await lease.heartbeat();
    assert.equal(lease.heartbeats, 1);
    assert.ok(lease.expiresAt.getTime() >= end);
    await assert.rejects(app().checkout(key, { heartbeats: false }), (err: unknown) => err instanceof ServerRefused && err.code === "no_seat_available" && err.retryAfter !== null);
    await lease.release();
    assert.deepEqual([lease.state, lease.valid], ["released", false]);
    assert.equal(existsSync(join(lic.dataDir, "lease.json")), false, "a returned lease is not kept");
    const other = await app().checkout(key, { heartbeats: false });
    assert.equal(other.valid, true, "the seat is free again");
    await other.release();
    await assert.rejects(lic.checkout("ABCDE-FGHJK", {}), InvalidKey);
    await assert.rejects(app().checkout(issueKey(), { heartbeats: false }), (err: unknown) => err instanceof ServerRefused && err.code === "not_floating");
  });

  it("heartbeats run on a timer that keeps the seat and never keeps Node alive", async () => {
    const key = floatingKey(1);
    const lic = app();
    const lease = await lic.checkout(key, { heartbeats: false });
    lease.startHeartbeats(100);
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.ok(lease.heartbeats >= 2, `${lease.heartbeats} heartbeats in 450 ms`);
    await lease.release();
    const settled = lease.heartbeats;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(lease.heartbeats, settled, "no heartbeat after the release");
    // A process that checks out with heartbeats and then has nothing left to do exits at once.
    const script = `const { Licentia } = require(${JSON.stringify(join(__dirname, "..", "src"))});
      const lic = new Licentia(${JSON.stringify({ serverUrl: server.url, product: "my-app", publicKey: server.publicKey(), dataDir: join(scratch, "exits"), hardware: { root: machineAt(join(scratch, "exits-machine")).root } })});
      lic.checkout(${JSON.stringify(key)}).then((l) => { console.log(l.state); });`;
    const started = Date.now();
    const done = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000 });
    assert.equal(done.stdout.trim(), "active", done.stderr);
    assert.ok(Date.now() - started < 15_000, "the heartbeat timer did not keep the process running");
  });

  it("a borrowed seat works offline until its end, and not after nor with the clock wound back", async () => {
    const key = floatingKey(1, 3);
    const clock = new ManualClock();
    const machine = machineAt(join(scratch, "borrow-machine"));
    const lic = app({ clock, machine });
    await assert.rejects(lic.checkout(key, { borrowDays: 4 }), (err: unknown) => err instanceof ServerRefused && err.code === "borrow_not_allowed");
    await assert.rejects(lic.checkout(key, { borrowDays: 0 }), ConfigurationError);
    const borrowed = await lic.checkout(key, { borrowDays: 3 });
    assert.deepEqual([borrowed.borrowed, borrowed.state, borrowed.valid], [true, "borrowed", true]);
    const onTheTrain = (): Licentia => app({ clock, machine, dataDir: lic.dataDir, serverUrl: "http://127.0.0.1:9", timeoutMs: 300 });
    clock.advance(2 * DAY + 23 * 3600_000);
    const kept = await onTheTrain().checkout(key, { borrowDays: 3 });
    assert.deepEqual([kept.valid, kept.online, kept.id, kept.state], [true, false, borrowed.id, "borrowed"]);
    clock.advance(3600_000 + 1000);
    await assert.rejects(onTheTrain().checkout(key, { borrowDays: 3 }), Offline);
    clock.advance(-DAY);
    await assert.rejects(onTheTrain().checkout(key), Offline, "winding the clock back buys nothing");
    // A lease document copied to another computer grants nothing there.
    const copyDir = join(scratch, "borrow-copy");
    cpSync(lic.dataDir, copyDir, { recursive: true });
    const thief = app({ dataDir: copyDir, serverUrl: "http://127.0.0.1:9", timeoutMs: 300 });
    await assert.rejects(thief.checkout(key, { borrowDays: 3 }), Offline);
  });

  // -- metered use ----------------------------------------------------------------------

  it("consume counts on the server, once per idempotency key, and refuses past the limit with the figures", async () => {
    const meters = JSON.stringify({ renders: { limit: 5, period: "month" }, exports: { limit: 100, period: "lifetime" } });
    const key = policyKey("Metered", "m@b.c", `meters=${meters}`, "max_devices=10");
    const lic = app();
    await lic.activate(key);
    const first = await lic.consume("renders", 3);
    assert.deepEqual([first.meter, first.used, first.limit, first.remaining, first.period, first.replayed], ["renders", 3, 5, 2, "month", false]);
    assert.ok(first.periodEnd !== null && first.periodEnd > first.periodStart);
    const again = await lic.consume("renders", 1, { idempotencyKey: "job-1" });
    const replayed = await lic.consume("renders", 1, { idempotencyKey: "job-1" });
    assert.deepEqual([again.remaining, replayed.remaining, replayed.replayed], [1, 1, true], "a retry is counted once");
    await assert.rejects(lic.consume("renders", 2), (err: unknown) =>
      err instanceof QuotaExceeded && err.code === "quota_exceeded" && err.status === 409 && err.consumption.remaining === 1 && err.consumption.limit === 5);
    assert.equal((await lic.consume("renders", 0)).used, 4, "nothing of the refused consumption was counted");
    assert.equal((await lic.consume("exports")).periodEnd, null, "a lifetime meter never resets");
    await assert.rejects(lic.consume("nope"), (err: unknown) => err instanceof ServerRefused && err.code === "unknown_meter");
    await assert.rejects(lic.consume("bad name!"), ConfigurationError);
    await assert.rejects(lic.consume("renders", -1), ConfigurationError);
    await assert.rejects(app().consume("renders"), (err: unknown) => err instanceof ServerRefused && err.code === "not_registered");
  });

  // -- air-gapped activation -------------------------------------------------------------

  it("air-gapped: a request file, the vendor's response installed and checked offline, then a proof that frees the seat", async () => {
    const key = issueKey();
    const machine = machineAt(join(scratch, "airgap-machine"));
    const lic = app({ machine, serverUrl: "http://127.0.0.1:9", timeoutMs: 300 });
    await assert.rejects(lic.activationRequest("ABCDE"), InvalidKey);
    const request = await lic.activationRequest(key);
    assert.match(request, /^-----BEGIN LICENTIA ACTIVATION REQUEST-----\n[A-Za-z0-9_\n-]+\n-----END LICENTIA ACTIVATION REQUEST-----\n$/);
    assert.equal(statSync(join(lic.dataDir, "offline.json")).mode & 0o777, 0o600, "the private keys are the user's alone");
    const requestFile = join(scratch, "request.txt");
    writeFileSync(requestFile, request);
    const response = server.cli("license", "offline-activate", requestFile);
    // Carried to another computer, or edited, the response installs nothing.
    const elsewhere = app({ dataDir: join(scratch, "airgap-elsewhere"), serverUrl: "http://127.0.0.1:9" });
    await assert.rejects(elsewhere.installActivation(response), InvalidAnswer);
    await assert.rejects(lic.installActivation(response.replace(/\n[A-Za-z0-9_-]{10}/, "\nAAAAAAAAAA")), InvalidAnswer);
    await assert.rejects(lic.installActivation("not a response"), InvalidAnswer);
    const status = await lic.installActivation(response);
    assert.deepEqual([status.allowed, status.state, status.online], [true, "registered", false]);
    const offline = await lic.check();
    assert.deepEqual([offline.allowed, offline.state, offline.online, offline.device], [true, "registered", false, status.device]);
    await assert.rejects(lic.installActivation(response), InvalidAnswer, "a response installs once");
    const proof = await lic.deactivateOffline();
    assert.match(proof, /^-----BEGIN LICENTIA DEACTIVATION PROOF-----/);
    assert.equal(await lic.deactivateOffline(), proof, "asked again, the same proof");
    assert.equal((await lic.check({ online: false })).allowed, false, "the license document is gone here");
    const proofFile = join(scratch, "proof.txt");
    writeFileSync(proofFile, proof);
    assert.match(server.cli("license", "offline-deactivate", proofFile), /seat freed/);
  });
});
