/**
 * A reinstall is the same installation: the credential kept outside the data folder (the escrow),
 * against a real `licentia serve`. The uninstaller deletes the application's data folder; installed
 * again at the same path on the same computer, the application resumes its installation: the same
 * device id, the same license, no second `install`. Each test has a user configuration directory
 * of its own (`XDG_CONFIG_HOME`), never the real one; the Python SDK finds the same file.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, it } from "node:test";

import { Licentia, type LicentiaOptions } from "../src";
import { Escrow, MAX_ENTRY_BYTES, userConfigDir } from "../src/escrow";
import { liveSuite, ownUserConfig, python, REPO, type FakeMachine } from "./support";

describe("userConfigDir: where the Python SDK keeps its file (platformdirs)", () => {
  it("is $XDG_CONFIG_HOME/licentia when that is absolute, on Linux and macOS alike", () => {
    assert.equal(userConfigDir({ XDG_CONFIG_HOME: "/cfg" }, "linux"), join("/cfg", "licentia"));
    assert.equal(userConfigDir({ XDG_CONFIG_HOME: "/cfg" }, "darwin"), join("/cfg", "licentia"));
  });

  it("is the platform's default otherwise (a relative XDG_CONFIG_HOME counts as none)", () => {
    const home = process.env.HOME ?? "";
    assert.equal(userConfigDir({ XDG_CONFIG_HOME: "relative/dir" }, "linux"), join(home, ".config", "licentia"));
    assert.equal(userConfigDir({}, "freebsd"), join(home, ".config", "licentia"));
    assert.equal(userConfigDir({}, "darwin"), join(home, "Library", "Application Support", "licentia"));
  });

  it("is %LOCALAPPDATA%\\licentia on Windows", () => {
    assert.equal(userConfigDir({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local", XDG_CONFIG_HOME: "/cfg" }, "win32"), "C:\\Users\\ada\\AppData\\Local\\licentia");
  });
});

describe("the escrow: a reinstall resumes its installation", () => {
  const config = ownUserConfig();
  const { server, scratch, machine } = liveSuite("escrow");
  let n = 0;

  function app(on: FakeMachine, dataDir: string, extra: Partial<LicentiaOptions> = {}): Licentia {
    return new Licentia({ serverUrl: server.url, product: "my-app", publicKey: server.publicKey(), dataDir, hardware: { root: on.root }, ...extra });
  }

  /** A data folder on a new computer, and the application installed there. */
  function installation(): { on: FakeMachine; dataDir: string; lic: Licentia } {
    const on = machine();
    n += 1;
    const dataDir = join(scratch, `data-${n}`);
    return { on, dataDir, lic: app(on, dataDir) };
  }

  function credentialFiles(): string[] {
    const dir = join(config.dir, "licentia", "credentials");
    return existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith(".")) : [];
  }

  function stateCredential(dataDir: string): [string, string] {
    const saved = JSON.parse(readFileSync(join(dataDir, "state.json"), "utf8"));
    return [saved.device, saved.secret];
  }

  /** The kinds of the events the server stored for a device (the operator's export). */
  function eventKinds(device: string): string[] {
    const lines = server.cli("export", "--format", "json", "--product", "my-app").split("\n").filter(Boolean);
    return lines.map((line) => JSON.parse(line)).filter((event) => event.device_id === device).map((event) => event.kind);
  }

  /** The Python SDK's `Escrow`, with this test's XDG_CONFIG_HOME and no OS credential store: its file. */
  function pythonEscrow(code: string, ...args: string[]): string {
    const env = {
      ...process.env,
      PYTHONPATH: [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(delimiter),
      PYTHON_KEYRING_BACKEND: "keyring.backends.fail.Keyring",
    };
    const script = `import json, sys\nfrom licentia.client.escrow import Escrow\nescrow = Escrow(*sys.argv[1:4])\n${code}`;
    const done = spawnSync(python(), ["-c", script, ...args], { encoding: "utf8", timeout: 60_000, env });
    if (done.status !== 0) throw new Error(`python failed: ${done.stderr}`);
    return done.stdout.trim();
  }

  it("deleted and installed again at the same path, the application is the same installation with its license", async () => {
    const { on, dataDir, lic } = installation();
    const key = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c");
    const trial = await lic.check();
    assert.equal((await lic.activate(key)).state, "registered");
    const [file] = credentialFiles();
    assert.ok(file !== undefined && credentialFiles().length === 1);
    const path = join(config.dir, "licentia", "credentials", file);
    assert.equal(path, lic.escrow.path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(config.dir, "licentia", "credentials")).mode & 0o777, 0o700);
    const kept = readFileSync(path, "utf8");
    for (const form of [key, key.replace(/-/g, ""), key.toLowerCase()]) assert.ok(!kept.includes(form), "never the license key");
    assert.deepEqual(JSON.parse(kept), {
      device: trial.device,
      secret: stateCredential(dataDir)[1],
      server: server.url,
      product: "my-app",
      data_path: (await lic.fingerprint()).dataPath,
    });

    rmSync(dataDir, { recursive: true }); // the uninstaller
    const again = await app(on, dataDir).check();
    assert.deepEqual([again.online, again.device, again.state], [true, trial.device, "registered"]);
    assert.equal(eventKinds(trial.device ?? "").filter((kind) => kind === "install").length, 1, "reported once, when first installed");
  });

  it("a damaged state.json is resumed the same way", async () => {
    const { on, dataDir, lic } = installation();
    const first = await lic.check();
    writeFileSync(join(dataDir, "state.json"), "{damaged");
    const again = await app(on, dataDir).check();
    assert.deepEqual([again.online, again.device], [true, first.device]);
  });

  it("an entry the Python SDK wrote is resumed, and the Python SDK finds the entry this client wrote", async () => {
    const { on, dataDir, lic } = installation();
    const first = await lic.check();
    const [device, secret] = stateCredential(dataDir);
    const keys = [server.url, "my-app", (await lic.fingerprint()).dataPath];
    // This client's entry, found by the Python SDK under the same name.
    assert.equal(pythonEscrow("print(escrow.path)", ...keys), lic.escrow.path);
    assert.deepEqual(JSON.parse(pythonEscrow("print(json.dumps(escrow.load()))", ...keys)), [device, secret]);

    // The Python SDK's entry, resumed by this client.
    rmSync(dataDir, { recursive: true });
    rmSync(lic.escrow.path ?? "");
    pythonEscrow("escrow.save((sys.argv[4], sys.argv[5]))", ...keys, device, secret);
    assert.ok(existsSync(lic.escrow.path ?? ""), "the Python SDK wrote its file, not an OS store");
    const again = await app(on, dataDir).check();
    assert.deepEqual([again.online, again.device], [true, first.device]);
    assert.equal(eventKinds(device).filter((kind) => kind === "install").length, 1);
  });

  it("a second data path on the same computer never takes another installation's entry", async () => {
    const on = machine();
    n += 1;
    const [one, two] = [join(scratch, `one-${n}`), join(scratch, `two-${n}`)];
    const first = await app(on, one).check();
    const second = await app(on, two).check();
    assert.notEqual(first.device, second.device);
    assert.equal(credentialFiles().length, 2);
    rmSync(two, { recursive: true });
    assert.equal((await app(on, two).check()).device, second.device);
    rmSync(one, { recursive: true });
    assert.equal((await app(on, one).check()).device, first.device);
  });

  describe("an entry that is not this installation's, or not well-formed, is ignored: a first contact as without one", () => {
    /** This installation's entry with `change` applied, as the file's bytes. */
    type Change = (entry: Record<string, unknown>) => string | Buffer;
    const cases: Record<string, Change> = {
      "an empty file": () => "",
      "garbage": () => "garbage",
      "not an object": () => "[1,2]",
      "no secret": (e) => JSON.stringify({ ...e, secret: undefined }),
      "nested too deep": () => "{".repeat(5000),
      "another server": (e) => JSON.stringify({ ...e, server: "http://elsewhere.example" }),
      "another product": (e) => JSON.stringify({ ...e, product: "other-app" }),
      "another data path": (e) => JSON.stringify({ ...e, data_path: "0".repeat(64) }),
      "a secret that is not short printable ASCII": (e) => JSON.stringify({ ...e, secret: `${e.secret}\u00e9` }),
      "a device id of 201 characters": (e) => JSON.stringify({ ...e, device: "d".repeat(201) }),
      "larger than 4096 bytes": (e) => JSON.stringify({ ...e, padding: "x".repeat(MAX_ENTRY_BYTES) }),
      "invalid UTF-8": (e) => Buffer.concat([Buffer.from(JSON.stringify(e).slice(0, -1)), Buffer.from([0xff, 0x7d])]),
    };
    for (const [what, change] of Object.entries(cases)) {
      it(what, async () => {
        const { on, dataDir, lic } = installation();
        const first = await lic.check();
        const path = lic.escrow.path ?? "";
        const entry = JSON.parse(readFileSync(path, "utf8"));
        writeFileSync(path, change(entry));
        rmSync(dataDir, { recursive: true });
        const again = app(on, dataDir);
        const status = await again.check();
        assert.ok(status.online && status.device && status.device !== first.device, "a new installation on this computer");
        assert.deepEqual(again.escrow.load(), stateCredential(dataDir), "its credential replaced the entry");
      });
    }

    it("a link, even to this installation's own entry", async () => {
      const { on, dataDir, lic } = installation();
      const first = await lic.check();
      const path = lic.escrow.path ?? "";
      const elsewhere = join(scratch, `entry-${n}.json`);
      writeFileSync(elsewhere, readFileSync(path));
      rmSync(path);
      symlinkSync(elsewhere, path);
      assert.equal(lic.escrow.load(), null);
      rmSync(dataDir, { recursive: true });
      const status = await app(on, dataDir).check();
      assert.ok(status.online && status.device !== first.device);
      assert.equal(readFileSync(elsewhere, "utf8").includes(first.device ?? "?"), true, "the link's target is left alone");
    });

    it("the control: the same entry, unchanged, resumes the installation", async () => {
      const { on, dataDir, lic } = installation();
      const first = await lic.check();
      const path = lic.escrow.path ?? "";
      writeFileSync(path, JSON.stringify(JSON.parse(readFileSync(path, "utf8")), null, 2)); // any JSON layout
      rmSync(dataDir, { recursive: true });
      assert.equal((await app(on, dataDir).check()).device, first.device);
    });
  });

  it("an entry the server voided gives way to a new installation, whose credential replaces it", async () => {
    const { on, dataDir, lic } = installation();
    const first = await lic.check();
    const device = first.device ?? "";
    lic.escrow.save([device, "not-the-secret"]);
    rmSync(dataDir, { recursive: true });
    const fresh = app(on, dataDir);
    const again = await fresh.check();
    assert.ok(again.online && again.device && again.device !== device, "recognised as a new installation on this computer");
    assert.deepEqual(fresh.escrow.load(), stateCredential(dataDir));
    rmSync(dataDir, { recursive: true });
    assert.equal((await app(on, dataDir).check()).device, again.device, "and that one is resumed next time");
  });

  it("an activation right after a reinstall resumes the installation first; with a voided entry, a new one is registered", async () => {
    const issue = (): string => server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c");
    const { on, dataDir, lic } = installation();
    const device = (await lic.check()).device ?? "";
    rmSync(dataDir, { recursive: true });
    const resumed = await app(on, dataDir).activate(issue());
    assert.deepEqual([resumed.state, resumed.device], ["registered", device]);

    lic.escrow.save([device, "not-the-secret"]);
    rmSync(dataDir, { recursive: true });
    const fresh = app(on, dataDir);
    const registered = await fresh.activate(issue());
    assert.equal(registered.state, "registered");
    assert.notEqual(registered.device, device);
    assert.deepEqual(fresh.escrow.load(), stateCredential(dataDir));
  });

  it("uninstall({ forget: true }) reports the uninstall and removes the entry: a reinstall is then a new installation", async () => {
    const { on, dataDir, lic } = installation();
    const device = (await lic.check()).device ?? "";
    assert.equal(credentialFiles().length, 1);
    const sent = await lic.uninstall({ forget: true });
    assert.deepEqual([sent.sent, sent.remaining], [1, 0]);
    assert.deepEqual(credentialFiles(), []);
    assert.ok(eventKinds(device).includes("uninstall"));
    rmSync(dataDir, { recursive: true });
    assert.notEqual((await app(on, dataDir).check()).device, device);
  });

  it("an uninstaller that deleted the data folder first still reports from the same installation, then forgets it", async () => {
    const { on, dataDir, lic } = installation();
    const device = (await lic.check()).device ?? "";
    rmSync(dataDir, { recursive: true });
    const sent = await app(on, dataDir).uninstall({ forget: true });
    assert.deepEqual([sent.sent, sent.remaining], [1, 0]);
    assert.ok(eventKinds(device).includes("uninstall"));
    assert.deepEqual(credentialFiles(), []);
  });

  it("uninstall() without forget keeps the entry", async () => {
    const { on, dataDir, lic } = installation();
    const device = (await lic.check()).device ?? "";
    await lic.uninstall();
    rmSync(dataDir, { recursive: true });
    assert.equal((await app(on, dataDir).check()).device, device);
  });

  it("a credentials folder that cannot be used never stops a check, and an offline check with its state never reads it", async () => {
    const credentials = join(config.dir, "licentia", "credentials");
    mkdirSync(join(config.dir, "licentia"), { recursive: true });
    writeFileSync(credentials, "a file where the folder should be");
    const { on, dataDir, lic } = installation();
    const first = await lic.check();
    assert.deepEqual([first.online, first.allowed], [true, true], "the entry could not be written: only the reinstall loses");
    const offline = await app(on, dataDir, { serverUrl: "http://127.0.0.1:9", timeoutMs: 300 }).check();
    assert.deepEqual([offline.online, offline.allowed, offline.state, offline.device], [false, true, "trial", first.device]);
    assert.deepEqual(
      [(await lic.check({ online: false })).allowed, (await lic.check()).device],
      [true, first.device],
      "offline and online alike, the state's credential is the one used",
    );
  });

  it("with a state present, an entry holding another credential is never used", async () => {
    const { on, dataDir, lic } = installation();
    const first = await lic.check();
    lic.escrow.save(["dv_not_this_one", "not-the-secret"]);
    const again = await app(on, dataDir).check();
    assert.deepEqual([again.online, again.device], [true, first.device]);
    assert.deepEqual(lic.escrow.load(), ["dv_not_this_one", "not-the-secret"], "nothing new was issued: the entry is left as it is");
  });

  it("the escrow's name binds the server (without a trailing slash), the product and the data path", () => {
    const a = new Escrow("https://licensing.example.com/", "my-app", "a".repeat(64));
    assert.equal(a.account, new Escrow("https://licensing.example.com", "my-app", "a".repeat(64)).account);
    const others = new Set([
      new Escrow("https://other.example.com", "my-app", "a".repeat(64)).account,
      new Escrow("https://licensing.example.com", "other-app", "a".repeat(64)).account,
      new Escrow("https://licensing.example.com", "my-app", "b".repeat(64)).account,
    ]);
    assert.ok(!others.has(a.account) && others.size === 3);
    assert.match(a.account, /^[0-9a-f]{64}$/);
  });
});
