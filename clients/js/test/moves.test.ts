/**
 * An installation's data folder moved on its computer, a data folder carried to another computer,
 * and a license moved between computers past its type's transfer limit: against a real
 * `licentia serve` (SQLite in a temporary data dir), each test with a user configuration folder of
 * its own (where the credential escrow lives).
 */

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { ConfigurationError, ErrorCode, Licentia, Offline, ServerRefused, StatusReason, type LicentiaOptions } from "../src";
import { StateFile } from "../src/state";
import { parseIso } from "../src/time";
import { liveSuite, ownUserConfig, RecordingProxy, tempDir, type FakeMachine } from "./support";

const DAY = 86_400_000;

describe("moves and transfers against a real server", () => {
  ownUserConfig();
  const { server, scratch, machine } = liveSuite("moves");
  let n = 0;

  function folder(name: string): string {
    n += 1;
    return join(scratch, `${name}-${n}`);
  }

  function app(on: FakeMachine, dataDir: string, extra: Partial<LicentiaOptions> = {}): Licentia {
    return new Licentia({ serverUrl: server.url, product: "my-app", publicKey: server.publicKey(), dataDir, hardware: { root: on.root }, ...extra });
  }

  function issueKey(...extra: string[]): string {
    return server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", ...extra);
  }

  function stateBytes(dataDir: string): Buffer | null {
    const path = join(dataDir, "state.json");
    return existsSync(path) ? readFileSync(path) : null;
  }

  function stateCredential(dataDir: string): [string, string] {
    const saved = JSON.parse(readFileSync(join(dataDir, "state.json"), "utf8"));
    return [saved.device, saved.secret];
  }

  /** A device's events as the server stored them (the operator's export): kind and data. */
  function events(device: string): { kind: string; data: Record<string, unknown> }[] {
    const lines = server.cli("export", "--format", "json", "--product", "my-app").split("\n").filter(Boolean);
    return lines
      .map((line) => JSON.parse(line))
      .filter((event) => event.device_id === device)
      .map((event) => ({ kind: event.kind, data: typeof event.data === "string" ? JSON.parse(event.data) : (event.data ?? {}) }));
  }

  /** Run `work` as on another computer: with a user configuration folder of that computer's. */
  async function elsewhere<T>(work: () => Promise<T>): Promise<T> {
    const own = process.env.XDG_CONFIG_HOME;
    const other = tempDir("other-config");
    process.env.XDG_CONFIG_HOME = other;
    try {
      return await work();
    } finally {
      process.env.XDG_CONFIG_HOME = own;
      rmSync(other, { recursive: true, force: true });
    }
  }

  describe("moveFrom: a new data folder adopts the installation of a previous one on this computer", () => {
    it("the same installation and license go on in the new folder; the old state is gone and the escrow follows", async () => {
      const on = machine();
      const [oldDir, newDir] = [folder("v2-data"), folder("v3-data")];
      const v2 = app(on, oldDir, { appVersion: "2.0" });
      const registered = await v2.activate(issueKey());
      assert.equal(registered.state, "registered");
      const oldState = stateBytes(oldDir);
      const oldEntry = v2.escrow.path ?? "";
      assert.ok(existsSync(oldEntry));

      const v3 = app(on, newDir, { appVersion: "3.0" });
      const moved = await v3.moveFrom(oldDir);
      assert.deepEqual([moved.online, moved.allowed, moved.state, moved.device], [true, true, "registered", registered.device]);
      assert.equal(stateBytes(oldDir), null, "the old folder's state.json is deleted");
      const offline = await v3.check({ online: false });
      assert.deepEqual([offline.state, offline.device], ["registered", registered.device], "the new folder's state is the installation's");
      assert.equal(existsSync(oldEntry), false, "the old data path's escrow entry is forgotten");
      assert.deepEqual(v3.escrow.load(), stateCredential(newDir), "and the installation is escrowed under the new data path");
      assert.equal((await v3.check()).device, registered.device);

      const kinds = events(registered.device ?? "");
      assert.equal(kinds.filter((e) => e.kind === "install").length, 1, "the move reports no second install");
      const [upgrade] = kinds.filter((e) => e.kind === "upgrade");
      assert.deepEqual([upgrade?.data.via, upgrade?.data.from, upgrade?.data.to], ["move", "2.0", "3.0"]);

      // The uninstaller removes the new folder: a reinstall there resumes the installation.
      rmSync(newDir, { recursive: true });
      const reinstalled = await app(on, newDir, { appVersion: "3.0" }).check();
      assert.deepEqual([reinstalled.device, reinstalled.state], [registered.device, "registered"]);

      // The old folder's state put back is a copy now: it does not run the license there.
      mkdirSync(oldDir, { recursive: true });
      writeFileSync(join(oldDir, "state.json"), oldState ?? "");
      const stale = await app(on, oldDir, { appVersion: "2.0" }).check();
      assert.equal(stale.online, true);
      assert.notEqual(stale.state, "registered");
      assert.notEqual(stale.device, registered.device);
    });

    it("sends a check's body with the old state's token, this folder's data path and a fresh nonce, to /v1/move", async () => {
      const proxy = await new RecordingProxy(server.url).start();
      try {
        const on = machine();
        const [oldDir, newDir] = [folder("old"), folder("new")];
        const old = app(on, oldDir, { serverUrl: proxy.url, appVersion: "1.0" });
        const device = (await old.check()).device;
        const token = JSON.parse(JSON.parse(readFileSync(join(oldDir, "state.json"), "utf8")).state).token;
        const lic = app(on, newDir, { serverUrl: proxy.url, appVersion: "1.0" });
        assert.equal((await lic.moveFrom(oldDir)).device, device);
        const [call, ...more] = proxy.exchanges.filter((e) => e.path === "/v1/move");
        assert.equal(more.length, 0);
        assert.equal(call?.request.token, token);
        assert.equal(call?.request.fingerprint.data_path, (await lic.fingerprint()).dataPath);
        assert.notEqual(call?.request.fingerprint.data_path, (await old.fingerprint()).dataPath);
        assert.match(call?.request.nonce, /^[A-Za-z0-9_-]{22}$/);
        assert.deepEqual([call?.request.product, call?.request.app_version], ["my-app", "1.0"]);
        assert.equal(call?.answer.credential, null, "the same credential goes on");
        assert.equal(call?.answer.signed.document.data_path, (await lic.fingerprint()).dataPath);
      } finally {
        await proxy.stop();
      }
    });

    it("a move whose answer was lost changes nothing here, and calling it again completes it", async () => {
      let lose = true;
      const proxy = await new RecordingProxy(server.url, (path) => path === "/v1/move" && lose).start();
      try {
        const on = machine();
        const [oldDir, newDir] = [folder("old"), folder("new")];
        const old = app(on, oldDir, { serverUrl: proxy.url });
        const registered = await old.activate(issueKey());
        const oldState = stateBytes(oldDir);
        const lic = app(on, newDir, { serverUrl: proxy.url });
        await assert.rejects(lic.moveFrom(oldDir), Offline);
        assert.equal(proxy.exchanges.filter((e) => e.path === "/v1/move" && e.answer?.signed).length, 1, "the server took the move");
        assert.deepEqual([stateBytes(oldDir), stateBytes(newDir), lic.escrow.load()], [oldState, null, null]);
        lose = false;
        const moved = await lic.moveFrom(oldDir);
        assert.deepEqual([moved.online, moved.state, moved.device], [true, "registered", registered.device]);
        assert.equal(stateBytes(oldDir), null);
        const upgrades = events(registered.device ?? "").filter((e) => e.kind === "moved" || e.kind === "upgrade");
        assert.equal(upgrades.length, 1, "moved once");
      } finally {
        await proxy.stop();
      }
    });

    it("is refused, changing nothing, when the old folder holds no installation, is this folder, or this folder holds one", async () => {
      const on = machine();
      const [empty, damaged, oldDir, newDir] = [folder("empty"), folder("damaged"), folder("old"), folder("new")];
      mkdirSync(empty, { recursive: true });
      mkdirSync(damaged, { recursive: true });
      writeFileSync(join(damaged, "state.json"), "{damaged");
      const lic = app(on, newDir);
      await assert.rejects(lic.moveFrom(empty), (err: unknown) => err instanceof ConfigurationError && /no installation/.test(err.message));
      await assert.rejects(lic.moveFrom(damaged), (err: unknown) => err instanceof ConfigurationError && /no installation/.test(err.message));
      await assert.rejects(lic.moveFrom(newDir), (err: unknown) => err instanceof ConfigurationError && /own/.test(err.message));
      await assert.rejects(lic.moveFrom(join(newDir, ".")), ConfigurationError, "the same folder spelt otherwise");
      assert.equal(stateBytes(newDir), null);

      const device = (await app(on, oldDir).check()).device;
      const oldState = stateBytes(oldDir);
      await lic.check();
      const newState = stateBytes(newDir);
      await assert.rejects(lic.moveFrom(oldDir), (err: unknown) => err instanceof ConfigurationError && /already holds an installation/.test(err.message));
      assert.deepEqual([stateBytes(oldDir), stateBytes(newDir)], [oldState, newState]);
      assert.equal((await app(on, oldDir).check()).device, device, "the old folder's installation goes on there");
    });

    it("a server refusal (stale token, another computer, a void credential) changes nothing in either folder", async () => {
      const on = machine();
      const [oldDir, newDir] = [folder("old"), folder("new")];
      const old = app(on, oldDir);
      const device = (await old.check()).device ?? "";
      const escrowed = old.escrow.load();

      const refusedWith = async (lic: Licentia, code: string, status: number): Promise<void> => {
        const before = stateBytes(oldDir);
        await assert.rejects(lic.moveFrom(oldDir), (err: unknown) => err instanceof ServerRefused && err.code === code && err.status === status);
        assert.deepEqual([stateBytes(oldDir), stateBytes(newDir), lic.escrow.load()], [before, null, null], code);
        assert.deepEqual(old.escrow.load(), escrowed, code);
      };

      // A state restored from before its last check carries an old token: check in first.
      const earlier = stateBytes(oldDir) ?? Buffer.alloc(0);
      await old.check();
      const current = stateBytes(oldDir) ?? Buffer.alloc(0);
      writeFileSync(join(oldDir, "state.json"), earlier);
      await refusedWith(app(on, newDir), ErrorCode.STALE_TOKEN, 401);

      writeFileSync(join(oldDir, "state.json"), current);
      await refusedWith(app(machine(), newDir), ErrorCode.OTHER_MACHINE, 409);

      const file = new StateFile(oldDir);
      const live = file.load();
      file.save({ ...live, credential: [device, "not-the-secret"] });
      const voided = stateBytes(oldDir);
      await assert.rejects(app(on, newDir).moveFrom(oldDir), (err: unknown) => err instanceof ServerRefused && err.code === ErrorCode.INVALID_CREDENTIAL);
      assert.deepEqual([stateBytes(oldDir), stateBytes(newDir)], [voided, null]);

      file.save(live);
      const moved = await app(on, newDir).moveFrom(oldDir);
      assert.equal(moved.device, device, "the same move, once the old state is the live one");
    });
  });

  it("a data folder carried to another computer is a new installation there, without the license; the owner keeps it", async () => {
    const owner = machine();
    const dataDir = folder("data");
    const registered = await app(owner, dataDir).activate(issueKey());
    const ownerEntry = readFileSync(app(owner, dataDir).escrow.path ?? "");

    // The copy runs at the same path on a computer with other hardware.
    const aside = `${dataDir}-owner`;
    renameSync(dataDir, aside);
    cpSync(aside, dataDir, { recursive: true });
    const other = machine();
    const [copy, copyOffline] = await elsewhere(async () => {
      const lic = app(other, dataDir);
      return [await lic.check(), await lic.check({ online: false })] as const;
    });
    assert.deepEqual([copy.online, copy.allowed, copy.state, copy.reason], [true, true, "trial", StatusReason.MOVED_TO_OTHER_MACHINE]);
    assert.ok(copy.device && copy.device !== registered.device, "a new installation");
    assert.deepEqual([copyOffline.state, copyOffline.reason, copyOffline.device], ["trial", "moved_to_other_machine", copy.device], "the reason is the document's");
    assert.deepEqual(stateCredential(dataDir)[0], copy.device, "the copy keeps its own credential");

    rmSync(dataDir, { recursive: true });
    renameSync(aside, dataDir);
    const back = await app(owner, dataDir).check();
    assert.deepEqual([back.online, back.state, back.device, back.reason], [true, "registered", registered.device, null]);
    assert.deepEqual([copy.cloneSuspected, back.cloneSuspected], [true, false], "the copy is flagged, the owner is not: nothing of it was copied");
    assert.deepEqual(readFileSync(app(owner, dataDir).escrow.path ?? ""), ownerEntry, "the owner's escrow entry is untouched");
  });

  it("past the license type's transfer limit, activation is refused with when the next move is allowed", async () => {
    const key = issueKey("--max-devices", "1", "--set", "transfer_limit=1", "--set", "transfer_period_days=7");
    const [a, b, c] = [machine(), machine(), machine()].map((on) => app(on, folder("data")));
    assert.ok(a && b && c);
    assert.equal((await a.activate(key)).state, "registered");
    assert.notEqual((await a.deactivate()).state, "registered");
    assert.equal((await b.activate(key)).state, "registered", "the one move the type allows in 7 days");
    await b.deactivate();

    // The seat B gave back is B's: taking it anywhere else is a second move, A included (its own seat moved on).
    for (const [name, lic] of [["another computer", c], ["the first computer", a]] as const) {
      const started = Date.now();
      const err = await lic.activate(key).then(
        () => assert.fail(`${name} took the license`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ServerRefused, name);
      assert.deepEqual([err.code, err.status], [ErrorCode.TRANSFER_LIMIT, 409], name);
      const next = err.details.next_transfer_at;
      assert.equal(typeof next, "string", name);
      const wait = parseIso(next as string) - started;
      assert.ok(6 * DAY + 23 * 3_600_000 < wait && wait <= 7 * DAY + 5_000, `${name}: next move in ${wait} ms`);
      assert.ok(err.retryAfter !== null && 6 * 86_400 < err.retryAfter && err.retryAfter <= 7 * 86_400, `${name}: Retry-After ${err.retryAfter}`);
      assert.deepEqual([err.details.transfer_limit, err.details.transfer_period_days, err.details.transfers_used], [1, 7, 1], name);
      assert.notEqual((await lic.check()).state, "registered", name);
    }
    assert.equal((await b.activate(key)).state, "registered", "the computer that gave the seat back takes it again");
  });
});
