/** Test support: a real `licentia serve` process, fake machines (sysfs/procfs trees) and a signing key. */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, afterEach, before, beforeEach } from "node:test";

import { canonicalJson, type JsonObject } from "../src/json";
import { keyId } from "../src/signing";

export const REPO = join(__dirname, "..", "..", "..", "..");

/** The Python that has Licentia's server installed: $LICENTIA_PYTHON, the repo's venv, or python3. */
export function python(): string {
  if (process.env.LICENTIA_PYTHON) return process.env.LICENTIA_PYTHON;
  const venv = join(REPO, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `licentia-js-${prefix}-`));
}

/**
 * Give every test of the calling suite a user configuration directory of its own (`XDG_CONFIG_HOME`,
 * where the credential escrow lives), removed after it, and the suite's hooks outside a test (a
 * nested suite's `before`) one of the suite's: nothing reads or writes the real one, and child
 * processes inherit it. `dir` is the current one.
 */
export function ownUserConfig(): { readonly dir: string } {
  const suite = tempDir("config");
  const current = { dir: suite };
  const use = (dir: string): void => {
    current.dir = dir;
    process.env.XDG_CONFIG_HOME = dir;
  };
  use(suite);
  beforeEach(() => use(tempDir("config")));
  afterEach(() => {
    rmSync(current.dir, { recursive: true, force: true });
    use(suite);
  });
  after(() => rmSync(suite, { recursive: true, force: true }));
  return current;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A real server on a loopback port, SQLite in a temporary data dir; `stop()` always reaps it. */
export class LiveServer {
  url = "";
  private proc: ChildProcess | null = null;
  readonly root = tempDir("server");
  readonly dataDir = join(this.root, "server");

  /** `env`: the server's settings beyond the defaults (e.g. `LICENTIA_DEVICE_POLL_SECONDS`). */
  constructor(private readonly env: Record<string, string> = {}) {}

  async start(): Promise<this> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const log = openSync(join(this.root, "server.log"), "w");
    const env: NodeJS.ProcessEnv = { ...process.env, LICENTIA_PRODUCT_CACHE_SECONDS: "0", ...this.env };
    delete env.LICENTIA_DATABASE_URL;
    this.proc = spawn(python(), ["-m", "licentia", "serve", "--data-dir", this.dataDir, "--port", String(port), "--workers", "1"], {
      stdio: ["ignore", log, log],
      env,
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`server exited: ${readFileSync(join(this.root, "server.log"), "utf8").slice(-2000)}`);
      try {
        const answer = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (answer.status === 200) return this;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error("server did not start in 30 s");
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    this.proc = null;
    rmSync(this.root, { recursive: true, force: true });
  }

  publicKey(product = "my-app"): string {
    return readFileSync(join(this.dataDir, "keys", `${product}.pub`), "utf8").trim();
  }

  /** Run the server's CLI (`licentia <args> --data-dir ...`); its stdout, or throws with its stderr. */
  cli(...args: string[]): string {
    const done = spawnSync(python(), ["-m", "licentia", ...args, "--data-dir", this.dataDir], { encoding: "utf8", timeout: 60_000 });
    if (done.status !== 0) throw new Error(`licentia ${args.join(" ")} failed: ${done.stderr}`);
    return done.stdout.trim();
  }
}

// What the portal's approve (or deny) route does ("expire": nobody confirmed in time), shared by every client's tests.
const DECIDE = join(REPO, "clients", "testing", "decide_sign_in.py");

/** The person `email` approves or denies the sign-in code `userCode` as the portal would (or it expires), in the server's database. */
export function decideSignIn(server: LiveServer, action: "approve" | "deny" | "expire", userCode: string, email = ""): void {
  const database = join(server.dataDir, "licentia.db");
  const done = spawnSync(python(), [DECIDE, database, action, userCode, email], { encoding: "utf8", timeout: 60_000 });
  if (done.status !== 0) throw new Error(`${action} failed: ${done.stderr}`);
}

/**
 * A real server and a scratch folder for one `describe` block (started before its tests, stopped
 * and removed after), and fake computers of their own: no strong component (machine id, disk,
 * network card) in common with another, since the server matches machines K of N.
 */
export function liveSuite(prefix: string, env: Record<string, string> = {}): { server: LiveServer; scratch: string; machine: () => FakeMachine } {
  const server = new LiveServer(env);
  const scratch = tempDir(prefix);
  let n = 0;
  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  });
  function machine(): FakeMachine {
    n += 1;
    const id = randomBytes(4);
    const mac = ["3c", "52", ...[...id].map((b) => b.toString(16).padStart(2, "0"))].join(":");
    return new FakeMachine(join(scratch, `machine-${n}`), { disk: `SN${id.toString("hex").toUpperCase()}`, mac });
  }
  return { server, scratch, machine };
}

export class FakeMachine {
  constructor(
    readonly root: string,
    options: { machine?: string; disk?: string; cpu?: string; mac?: string } = {},
  ) {
    this.write("etc/machine-id", options.machine ?? randomBytes(16).toString("hex"));
    this.write("proc/self/mountinfo", "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw");
    mkdirSync(join(root, "sys/block/sda/sda1"), { recursive: true });
    this.write("sys/block/sda/device/serial", options.disk ?? "S3Z9NB0K");
    this.setCpu(options.cpu ?? "i7-8650U");
    // Interfaces the reader must skip: no device, docker, a locally administered address.
    this.nic("lo", "00:00:00:00:00:00", false);
    this.nic("docker0", "02:42:ac:11:00:02", false);
    this.nic("enp0s31f6", "0a:00:27:00:00:01");
    this.nic("eth0", options.mac ?? "3c:52:82:10:aa:bb");
  }

  write(rel: string, text: string): void {
    const path = join(this.root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${text}\n`);
  }

  setCpu(model: string, flags = "fpu vme sse2"): void {
    this.write(
      "proc/cpuinfo",
      `processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\n` +
        `model name\t: Intel(R) Core(TM) ${model}\nstepping\t: 10\nflags\t\t: ${flags}\n\nprocessor\t: 1\nvendor_id\t: OtherVendor\n`,
    );
  }

  nic(name: string, mac: string, device = true): void {
    this.write(`sys/class/net/${name}/address`, mac);
    this.write(`sys/class/net/${name}/addr_assign_type`, "0");
    if (device) mkdirSync(join(this.root, `sys/class/net/${name}/device`), { recursive: true });
  }
}

/** A clock that moves only when told to. */
export class ManualClock {
  constructor(public time = Date.now()) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A product signing key the test owns: the app pins `publicKey`, and `sign` makes genuine documents. */
export class TestSigner {
  readonly kid: string;
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync("ed25519");
    const raw = Buffer.from(pair.publicKey.export({ format: "jwk" }).x as string, "base64url");
    this.privateKey = pair.privateKey;
    this.kid = keyId(raw);
    this.publicKey = `ed25519:${this.kid}:${raw.toString("base64url")}`;
  }

  /** `{document, kid, sig}`: the signed form a server answers and the SDK keeps. */
  sign(document: JsonObject): JsonObject {
    const sig = sign(null, canonicalJson(document), this.privateKey).toString("base64url");
    return { document, kid: this.kid, sig, endorsements: [] };
  }
}

/** One request through a `RecordingProxy` and the server's answer, both parsed. */
export interface Exchange {
  path: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  answer: any;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parsedOrNull(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
}

/**
 * A loopback HTTP proxy in front of a real server that passes everything through and records it;
 * `loseAnswer(path)` true: the server gets the request and answers, the client gets a 502 instead.
 */
/** An HTTP server of a test on a free port of 127.0.0.1: `start()` listens and sets `url`, `stop()` closes it. */
export class LocalServer {
  url = "";

  constructor(protected readonly server: Server) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export class RecordingProxy extends LocalServer {
  readonly exchanges: Exchange[] = [];

  constructor(
    readonly target: string,
    readonly loseAnswer: (path: string) => boolean = () => false,
  ) {
    super(createHttpServer());
    this.server.on("request", (req, res) => {
      void readAll(req).then((sent) => {
        const headers = { ...req.headers, host: new URL(target).host };
        const forward = httpRequest(`${target}${req.url ?? ""}`, { method: req.method, headers, agent: false }, (answer) => {
          void readAll(answer).then((got) => {
            this.exchanges.push({ path: req.url ?? "", request: parsedOrNull(sent), answer: parsedOrNull(got) });
            if (this.loseAnswer(req.url ?? "")) res.writeHead(502).end();
            else res.writeHead(answer.statusCode ?? 502, answer.headers).end(got);
          });
        });
        forward.on("error", () => res.writeHead(502).end());
        forward.end(sent);
      });
    });
  }
}
