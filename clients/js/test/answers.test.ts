/**
 * Answers a client can trust, against a fake server on a loopback port that
 * signs with a key the test owns (and the app pins): genuine documents of
 * another time, another request or another installation are refused online,
 * and refusing them changes nothing the installation keeps.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { InvalidAnswer, Licentia, type JsonObject } from "../src";
import type { Status } from "../src/status";
import { toIso } from "../src/time";
import { FakeMachine, LocalServer, ManualClock, TestSigner, ownUserConfig, tempDir } from "./support";

const DAY = 86_400_000;
const OLD = Date.UTC(2020, 0, 15, 9, 30); // an answer saved long ago
const DEVICE = "dv_0f3a9c5e7b2d4a61";
const MACHINE = "mc_7e21b0c4d9f35a88";

interface Request {
  path: string;
  body: JsonObject;
  credential: string | null;
}
interface Reply {
  status?: number;
  body: unknown;
}

/** A server on 127.0.0.1 that answers device calls with whatever `reply` makes of the request. */
class FakeServer extends LocalServer {
  readonly requests: Request[] = [];
  reply: (request: Request) => Reply = () => ({ status: 503, body: {} });

  constructor() {
    super(createServer());
    this.server.on("request", (req: IncomingMessage, res: ServerResponse) => this.answer(req, res));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    void body(req).then((text) => {
      const request = { path: req.url ?? "", body: JSON.parse(text || "{}") as JsonObject, credential: req.headers.authorization ?? null };
      let reply: Reply;
      if (request.path === "/v1/events") {
        reply = { body: { accepted: (request.body.events as unknown[]).length, duplicates: 0 } };
      } else {
        this.requests.push(request);
        reply = this.reply(request);
      }
      res.writeHead(reply.status ?? 200, { "Content-Type": "application/json" }).end(JSON.stringify(reply.body));
    });
  }

  /** The nonce the latest device call sent. */
  lastNonce(): string {
    return this.requests[this.requests.length - 1]?.body.nonce as string;
  }
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A trial document for the installation whose fingerprint `request` sent, issued at `issued`. */
function trial(request: Request, issued: number, fields: JsonObject = {}): JsonObject {
  const fingerprint = request.body.fingerprint as JsonObject;
  return {
    v: 1,
    product: "my-app",
    device: DEVICE,
    machine: MACHINE,
    components: fingerprint.components as JsonObject,
    data_path: fingerprint.data_path as string,
    min_match: 2,
    status: "trial",
    allowed: true,
    reason: null,
    features: [],
    issued_at: toIso(issued),
    lease_until: toIso(issued + 7 * DAY),
    grace_days: 7,
    trial_end: toIso(issued + 14 * DAY - 3_600_000), // 14 days left, whatever the second the check runs
    license: null,
    token: randomBytes(8).toString("hex"),
    clone_suspected: false,
    latest_release: null,
    usage_report_days: 31,
    ...fields,
  };
}

function summary(status: Status): unknown {
  return [status.allowed, status.state, status.reason, status.daysLeft, status.device, status.online];
}

describe("answers that are not the answers to this request", () => {
  ownUserConfig();
  const signer = new TestSigner();
  const fake = new FakeServer();
  const scratch = tempDir("answers");
  let n = 0;
  // What a genuine server answers: this request's nonce, this device, a credential at first contact.
  const honest = (request: Request): Reply => ({
    body: {
      credential: request.credential ? null : { device: DEVICE, secret: "s3cr3t-s3cr3t" },
      signed: signer.sign(trial(request, Date.now(), { nonce: request.body.nonce as string })),
    },
  });

  before(async () => {
    await fake.start();
  });
  after(async () => {
    await fake.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  function app(clock?: ManualClock): Licentia {
    n += 1;
    const machine = new FakeMachine(join(scratch, `machine-${n}`));
    const dataDir = join(scratch, `data-${n}`);
    return new Licentia({ serverUrl: fake.url, product: "my-app", publicKey: signer.publicKey, dataDir, hardware: { root: machine.root }, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  }

  it("a genuine answer to this request is taken, and kept with the nonce the request sent", async () => {
    fake.reply = honest;
    const lic = app();
    const status = await lic.check();
    assert.deepEqual(summary(status), [true, "trial", null, 14, DEVICE, true]);
    const nonce = fake.lastNonce();
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/, "16 random bytes, unpadded base64url");
    const saved = JSON.parse(JSON.parse(readFileSync(join(lic.dataDir, "state.json"), "utf8")).state);
    assert.equal(saved.signed.document.nonce, nonce);
    assert.ok(Math.abs(saved.clock_offset) <= 1, "the server's clock is this one");
    await lic.check();
    assert.notEqual(fake.lastNonce(), nonce, "a fresh nonce for every request");
  });

  describe("refused online, with nothing kept and the offline answer as it was", () => {
    let lic: Licentia;
    let earlier: { nonce: string; answer: unknown } = { nonce: "", answer: null };
    let stateBefore = Buffer.alloc(0);
    let offlineBefore: unknown = null;

    before(async () => {
      lic = app();
      fake.reply = (request) => {
        const reply = honest(request);
        earlier = { nonce: request.body.nonce as string, answer: reply.body };
        return reply;
      };
      await lic.check(); // first contact: the credential
      await lic.check(); // what a fake server could have saved
      stateBefore = readFileSync(join(lic.dataDir, "state.json"));
      offlineBefore = summary(await lic.check({ online: false }));
      assert.deepEqual(offlineBefore, [true, "trial", null, 14, DEVICE, false]);
    });

    const cases: [string, string, (request: Request) => Reply][] = [
      ["an old genuine answer (issued in 2020, no nonce)", "nonce_mismatch", (request) => ({
        body: { credential: null, signed: signer.sign(trial(request, OLD, { trial_end: null })) },
      })],
      ["an old genuine answer (issued in 2020) with an earlier request's nonce", "nonce_mismatch", (request) => ({
        body: { credential: null, signed: signer.sign(trial(request, OLD, { nonce: earlier.nonce })) },
      })],
      ["the last genuine answer, replayed as it came", "nonce_mismatch", () => ({ body: earlier.answer })],
      ["a genuine answer issued two days ahead", "nonce_mismatch", (request) => ({
        body: { credential: null, signed: signer.sign(trial(request, Date.now() + 2 * DAY)) },
      })],
      ["another installation's answer carrying this request's nonce", "other_installation", (request) => ({
        body: { credential: null, signed: signer.sign(trial(request, Date.now(), { nonce: request.body.nonce as string, device: "dv_77aa00bb11cc22dd" })) },
      })],
      ["an answer with a wrong nonce", "nonce_mismatch", (request) => ({
        body: { credential: null, signed: signer.sign(trial(request, Date.now(), { nonce: randomBytes(16).toString("base64url") })) },
      })],
      ["this installation's answer for another machine", "other_machine", (request) => ({
        body: { credential: null, signed: signer.sign(trial(request, Date.now(), { nonce: request.body.nonce as string, machine: "mc_0000aaaa1111bbbb" })) },
      })],
    ];
    for (const [name, refusal, reply] of cases) {
      it(`${name}: ${refusal}`, async () => {
        fake.reply = reply;
        const status = await lic.check();
        assert.deepEqual(summary(status), offlineBefore, "check() falls back to the stored document");
        await assert.rejects(lic.deactivate(), (err: unknown) => err instanceof InvalidAnswer && err.message.endsWith(`(${refusal})`));
        assert.deepEqual(readFileSync(join(lic.dataDir, "state.json")), stateBefore, "the state file is byte for byte the same");
        assert.deepEqual(summary(await lic.check({ online: false })), offlineBefore);
      });
    }
  });

  it("a server that voids the credential and then replays an old answer does not wipe the state", async () => {
    const clock = new ManualClock();
    fake.reply = honest;
    const lic = app(clock);
    const first = await lic.check();
    clock.advance(3_600_000); // late enough for the offline check to write the time it saw
    fake.reply = (request) =>
      request.credential
        ? { status: 401, body: { error: { code: "invalid_credential", message: "unknown device credential" } } }
        : { body: { credential: { device: "dv_99ee88dd77cc66bb", secret: "n3w" }, signed: signer.sign(trial(request, OLD, { device: "dv_99ee88dd77cc66bb" })) } };
    const status = await lic.check();
    assert.equal(fake.requests[fake.requests.length - 1]?.credential, null, "asked again as a first contact");
    assert.deepEqual([status.allowed, status.online, status.device], [true, false, first.device]);
    assert.equal(JSON.parse(readFileSync(join(lic.dataDir, "state.json"), "utf8")).device, DEVICE, "the credential is kept");
    assert.deepEqual(summary(await lic.check({ online: false })), [true, "trial", null, 14, DEVICE, false]);
  });
});
