/** The TypeScript SDK against a real `licentia serve` (SQLite in a temporary data dir). */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { ConfigurationError, InvalidKey, Licentia, ServerRefused, type LicentiaOptions } from "../src";
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
    assert.deepEqual([status.allowed, status.online], [true, true]);
    await assert.rejects(lic.deactivate(), ConfigurationError);
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
});
