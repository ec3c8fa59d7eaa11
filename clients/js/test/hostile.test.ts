/**
 * What the Python SDK survives, the TypeScript client survives too: `check()` answers a status
 * (never rejects) whatever the files in the data folder, the server or the hardware readers do; a
 * credential that is not a token the server makes is never sent; an unsigned release answer reaches
 * the application only as its known fields with an `https:` URL; the client says its version.
 */

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { CLIENT_VERSION, Licentia, LicentiaError, PROTOCOL_VERSION, Status, type LicentiaOptions } from "../src";
import type { CommandRunner } from "../src/hardware";
import { releaseOf } from "../src/releases";
import { stateMac } from "../src/state";
import { FakeMachine, LocalServer, TestSigner, ownUserConfig, tempDir } from "./support";

interface Seen {
  path: string;
  headers: IncomingMessage["headers"];
}

/** A server that answers every request with what `reply` says, and records what it was sent. */
class GarbageServer extends LocalServer {
  readonly seen: Seen[] = [];
  reply: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end("{}");

  constructor() {
    super(createServer());
    this.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on("end", () => {
        this.seen.push({ path: req.url ?? "", headers: req.headers });
        this.reply(req, res);
      });
    });
  }
}

const GARBAGE: [string, (req: IncomingMessage, res: ServerResponse) => void][] = [
  ["an HTML page", (_q, r) => r.end("<html>hello</html>")],
  ["JSON nested a hundred thousand deep", (_q, r) => r.end("[".repeat(100_000))],
  ["two megabytes", (_q, r) => r.end(`"${"x".repeat(2 << 20)}"`)],
  ["a document of the wrong types", (_q, r) => r.end('{"signed":{"document":[],"kid":7,"sig":null},"credential":"x"}')],
  ["a credential with a newline and no document", (_q, r) => r.end('{"credential":{"device":"dv_1","secret":"a\\r\\nX-Evil: 1"}}')],
  ["a 500", (_q, r) => r.writeHead(500).end("oops")],
  ["a refusal without a body", (_q, r) => r.writeHead(403).end()],
  ["a connection cut mid-answer", (_q, r) => { r.writeHead(200, { "Content-Length": "100" }); r.end("{\"signed\""); }],
];

describe("a hostile world", () => {
  ownUserConfig();
  const scratch = tempDir("hostile");
  const signer = new TestSigner();
  const fake = new GarbageServer();
  let n = 0;

  before(async () => {
    await fake.start();
  });
  after(async () => {
    await fake.stop();
  });

  function app(extra: Partial<LicentiaOptions> = {}): Licentia {
    n += 1;
    const machine = new FakeMachine(join(scratch, `machine-${n}`));
    return new Licentia({
      serverUrl: fake.url, product: "my-app", publicKey: signer.publicKey, dataDir: join(scratch, `data-${n}`),
      hardware: { root: machine.root }, timeoutMs: 1000, ...extra,
    });
  }

  /** A state sealed as the SDK seals it, with whatever credential and fields the test chooses. */
  function writeSealed(dataDir: string, device: string, secret: string, fields: Record<string, unknown> = {}): void {
    const body = JSON.stringify({ signed: null, token: "t0k3n", install_reported: true, ...fields });
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, "state.json"), JSON.stringify({ format: 2, device, secret, state: body, mac: stateMac(device, secret, body) }));
  }

  for (const [name, reply] of GARBAGE) {
    it(`check() answers a status when the server sends ${name}; other calls throw only LicentiaErrors`, async () => {
      fake.reply = reply;
      const lic = app();
      const status = await lic.check();
      assert.ok(status instanceof Status);
      assert.deepEqual([status.allowed, status.online, status.reason], [false, false, "no_document"]);
      for (const call of [() => lic.activate("7KQ2M-XR4TD-ABCDE-FGHJK-LMNPQ"), () => lic.deactivate(), () => lic.latestRelease(), () => lic.consume("renders")]) {
        await call().then(
          () => undefined,
          (err: unknown) => assert.ok(err instanceof LicentiaError, `${String(err)} is a LicentiaError`),
        );
      }
    });
  }

  it("a sealed state whose secret holds CR/LF is damage: never sent as a header, and check() still answers", async () => {
    fake.reply = (_q, r) => r.writeHead(503).end();
    const lic = app();
    writeSealed(lic.dataDir, "dv_0f3a9c5e7b2d4a61", "s3cr3t\r\nX-Injected: yes");
    const before = fake.seen.length;
    const status = await lic.check();
    assert.deepEqual([status.allowed, status.reason], [false, "corrupt_state"]);
    const sent = fake.seen.slice(before);
    assert.ok(sent.length > 0, "the check went online as a first contact");
    assert.ok(sent.every((s) => s.headers.authorization === undefined && s.headers["x-injected"] === undefined), JSON.stringify(sent.map((s) => s.headers)));
    for (const secret of ["", "x".repeat(201), "caf\u00e9", "tab\there"]) {
      writeSealed(lic.dataDir, "dv_0f3a9c5e7b2d4a61", secret);
      assert.equal((await lic.check({ online: false })).reason, "corrupt_state", JSON.stringify(secret));
    }
  });

  it("damaged files in the data folder never make check() reject", async () => {
    fake.reply = (_q, r) => r.writeHead(503).end();
    const lic = app();
    const damage: [string, string][] = [
      ["state.json", "[".repeat(200_000)],
      ["state.json", JSON.stringify({ format: 2, device: 1, secret: [], state: {}, mac: null })],
      ["lease.json", "\u0000\u0001garbage"],
      ["offline.json", "{\"format\":1,\"pending\":7,\"activation\":[]}"],
      ["events/000-bad.json", "{not json"],
    ];
    for (const [file, text] of damage) {
      mkdirSync(join(lic.dataDir, "events"), { recursive: true });
      writeFileSync(join(lic.dataDir, file), text);
      for (const online of [true, false]) {
        const status = await lic.check({ online });
        assert.equal(status.allowed, false, `${file}: nothing granted`);
      }
    }
    mkdirSync(join(lic.dataDir, "state.json.d"), { recursive: true });
    const directory = app({ dataDir: join(lic.dataDir, "state.json.d") });
    mkdirSync(join(directory.dataDir, "state.json"), { recursive: true }); // a directory where the file should be
    assert.equal((await directory.check()).allowed, false);
  });

  it("hardware readers and a clock that throw never make check() reject", async () => {
    fake.reply = (_q, r) => r.writeHead(503).end();
    const throwing: CommandRunner = () => {
      throw new Error("reg.exe exploded");
    };
    const lic = app({ hardware: { platform: "win32", run: throwing, interfaces: () => { throw new Error("no interfaces"); }, env: {} } });
    const status = await lic.check();
    assert.deepEqual([status.allowed, status.reason], [false, "no_document"]);
    assert.deepEqual((await lic.fingerprint()).components, {}, "nothing read, nothing thrown");
    const brokenClock = app({ clock: { now: () => { throw new Error("no clock"); } } });
    const answer = await brokenClock.check();
    assert.deepEqual([answer.allowed, answer.reason], [false, "check_failed"]);
  });

  it("the hardware is read once per process, asynchronously: a second check never waits on the readers", async () => {
    const calls: string[] = [];
    let ticks = 0;
    const slow: CommandRunner = (file) => {
      calls.push(file);
      return new Promise((resolve) => setTimeout(() => resolve(null), 30));
    };
    const lic = app({ hardware: { platform: "win32", run: slow, interfaces: () => ({}), env: { SystemRoot: "C:\\Windows" } } });
    fake.reply = (_q, r) => r.writeHead(503).end();
    const ticking = setInterval(() => (ticks += 1), 5);
    await lic.check(); // reads the hardware for the request
    clearInterval(ticking);
    assert.ok(ticks >= 2, `the event loop ran while the readers waited (${ticks} ticks)`);
    const first = calls.length;
    assert.ok(first >= 3, `${first} commands for the first check`);
    await lic.check();
    await lic.fingerprint();
    assert.equal(calls.length, first, "no command for the second check");
  });

  it("an unsigned release answer reaches the application as its known fields, with an https: URL only", async () => {
    const lic = app({ appVersion: "1.0.0" });
    const answers: [unknown, string | null][] = [
      ["https://example.com/app-2.0.0.dmg", "https://example.com/app-2.0.0.dmg"],
      ["javascript:alert(1)", null],
      ["file:///etc/passwd", null],
      ["http://example.com/app.dmg", null],
      ["myapp://install", null],
      ["https://exa mple.com/\r\nx", null],
      [{ href: "https://example.com" }, null],
    ];
    for (const [url, expected] of answers) {
      fake.reply = (_q, r) =>
        r.end(JSON.stringify({ version: "2.0.0", channel: "stable", download_url: url, notes: "new", newer: true, released_at: "2026-01-01T00:00:00Z", evil: { __proto__: 1 }, open: "calc.exe" }));
      const release = await lic.latestRelease();
      // A link that is not text is left out; one that is text but not an https:// link is null.
      const link = typeof url === "string" ? { downloadUrl: expected } : {};
      assert.deepEqual(release, { version: "2.0.0", channel: "stable", releasedAt: "2026-01-01T00:00:00Z", ...link, notes: "new", newer: true });
    }
    fake.reply = (_q, r) => r.end(JSON.stringify({ version: null, channel: "stable" }));
    assert.equal(await lic.latestRelease(), null);
    assert.equal(releaseOf({ version: 7 }), null);
  });

  it("every request says the client's version and protocol; the package's version is the client's", async () => {
    fake.reply = (_q, r) => r.writeHead(503).end();
    const before = fake.seen.length;
    await app().check();
    const agent = fake.seen[before]?.headers["user-agent"];
    assert.equal(agent, `licentia-client-js/${CLIENT_VERSION} (protocol ${PROTOCOL_VERSION}; node ${process.versions.node})`);
    assert.equal(fake.seen[before]?.headers["licentia-protocol"], String(PROTOCOL_VERSION));
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"));
    assert.equal(pkg.version, CLIENT_VERSION);
    assert.deepEqual([Licentia.version, Licentia.protocolVersion], [CLIENT_VERSION, PROTOCOL_VERSION]);
  });
});
